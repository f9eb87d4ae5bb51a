"""Pieces of a Llama-style decoder layer, run on any subset of token positions.

The engine calls these instead of the model's own layer forward, so that each layer
computes queries, keys, values, attention and MLP only for the tokens it recomputes.
Tensors carry no batch dimension: hidden states are (N, d), keys and values (Hkv, N, D).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from . import staircase

# Query chunking of the masked attention; measured on 4k keys, 400 and 1,600 queries.
QUERIES_PER_CHUNK = 50
MAX_QUERY_CHUNKS = 32


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_tables(model, positions: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the model's own (cos, sin) for `positions`, each (N, D)."""
    rotary = model.model.rotary_emb
    probe = torch.empty(0, dtype=dtype, device=positions.device)
    cos, sin = rotary(probe, positions[None, :])
    return cos[0], sin[0]


def delta_rope_tables(model, delta: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (cos, sin) of a pure rotation by `delta` positions, each (N, D).

    A key rotated at position m becomes the key at position t after a further rotation
    by t - m. The model's attention scaling, if any, is already in the stored key, so it
    is not applied again here.
    """
    inv_freq = model.model.rotary_emb.inv_freq.to(device=delta.device, dtype=torch.float32)
    angles = delta.float()[:, None] * inv_freq[None, :]  # (N, D/2)
    angles = torch.cat((angles, angles), dim=-1)         # (N, D)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotation(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate x (H, N, D) with per-token tables (N, D): x * cos + rotate_half(x) * sin."""
    half = x.shape[-1] // 2
    out = x * cos[None]
    out[..., :half].addcmul_(x[..., half:], sin[None, :, :half], value=-1)
    out[..., half:].addcmul_(x[..., :half], sin[None, :, half:])
    return out


def project_qkv(attn, normed: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    """Project normed hidden states (N, d) to rotated q (H, N, D), rotated k and v (Hkv, N, D)."""
    n_tokens = normed.shape[0]
    head_dim = attn.head_dim
    q = attn.q_proj(normed).view(n_tokens, -1, head_dim).transpose(0, 1)
    k = attn.k_proj(normed).view(n_tokens, -1, head_dim).transpose(0, 1)
    v = attn.v_proj(normed).view(n_tokens, -1, head_dim).transpose(0, 1)
    return apply_rotation(q, cos, sin), apply_rotation(k, cos, sin), v


def attend(attn, q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
           query_positions: torch.Tensor | None, key_positions: torch.Tensor | None) -> torch.Tensor:
    """Attention of queries (H, S, D) over keys and values (Hkv, N, D); returns (S, H*D) after o_proj.

    With positions given, a query attends only to keys at positions up to its own. Both must
    be sorted. On the CPU, when every query attends to at least one key, the staircase kernel
    runs (see staircase.py). Without positions the attention is unmasked (decoding one token
    over its whole cache).
    """
    n_queries, n_keys = q.shape[1], keys.shape[1]
    if query_positions is None:
        return attn.o_proj(_sdpa(attn, q, keys, values, None, False))
    if n_queries == n_keys and torch.equal(query_positions, key_positions):
        return attn.o_proj(_sdpa(attn, q, keys, values, None, True))
    if staircase.available(q):
        visible = torch.searchsorted(key_positions, query_positions, right=True)  # keys each query attends to
        if staircase.applies(visible):
            out = staircase.staircase_attention(q, keys, values, visible, attn.scaling)  # (H, S, D)
            return attn.o_proj(out.transpose(0, 1).reshape(n_queries, -1))

    # Elsewhere, sorted queries in chunks: each chunk reads only the keys up to its last position,
    # which skips most of the masked upper-right part of the score matrix. Smaller chunks
    # skip more of it but cost a kernel call each.
    n_chunks = min(MAX_QUERY_CHUNKS, -(-n_queries // QUERIES_PER_CHUNK))
    outputs = []
    for chunk in torch.tensor_split(torch.arange(n_queries, device=q.device), n_chunks):
        positions = query_positions[chunk]
        n_visible = int(positions.max()) + 1
        mask = key_positions[None, :n_visible] <= positions[:, None]  # (s, n_visible)
        outputs.append(_sdpa(attn, q[:, chunk], keys[:, :n_visible], values[:, :n_visible], mask, False))
    return attn.o_proj(torch.cat(outputs))


def _sdpa(attn, q, keys, values, mask, causal: bool) -> torch.Tensor:
    """Scaled dot-product attention for one sequence; returns (S, H*D) before o_proj."""
    out = F.scaled_dot_product_attention(
        q[None], keys[None], values[None], attn_mask=mask, is_causal=causal,
        scale=attn.scaling, enable_gqa=q.shape[0] != keys.shape[0])  # (1, H, S, D)
    return out[0].transpose(0, 1).reshape(q.shape[1], -1)


def attention_probs(attn, q: torch.Tensor, keys: torch.Tensor,
                    query_positions: torch.Tensor, key_positions: torch.Tensor) -> torch.Tensor:
    """Return softmax attention (H, S, N) of a few queries, for ranking tokens by attention received."""
    n_heads, n_queries, head_dim = q.shape
    n_kv_heads = keys.shape[0]
    # Query head h reads KV head h // groups: group the queries instead of copying the keys.
    grouped = q.reshape(n_kv_heads, -1, head_dim)                        # (Hkv, groups*S, D)
    scores = (grouped @ keys.transpose(1, 2)).float() * attn.scaling     # (Hkv, groups*S, N)
    scores = scores.view(n_heads, n_queries, -1)                         # (H, S, N)
    visible = key_positions[None, :] <= query_positions[:, None]   # (S, N)
    scores = scores.masked_fill(~visible[None], float("-inf"))
    return scores.softmax(dim=-1)


def feed_forward(layer, hidden: torch.Tensor, attn_out: torch.Tensor) -> torch.Tensor:
    """Add the attention output and the MLP block to the residual stream."""
    hidden = hidden + attn_out
    return hidden + layer.mlp(layer.post_attention_layernorm(hidden))


def final_logits(model, hidden: torch.Tensor) -> torch.Tensor:
    """Logits (N, vocab) in float32 from last-layer hidden states (N, d)."""
    return model.lm_head(model.model.norm(hidden)).float()
