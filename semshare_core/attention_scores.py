"""Attention weights of a full prefill, recomputed per layer and reduced on the fly.

The model's own forward uses fused attention, which never materialises the weights.
These functions recompute the queries of one layer from its input hidden states and
the weights against the layer's cached keys, a chunk of queries at a time, so that a
4k-token prompt never needs a (heads, T, T) tensor.
"""

from __future__ import annotations

import torch

from . import layers as L

# Queries per chunk of the accumulated attention: (heads, chunk, T) float32 weights at a time.
QUERY_CHUNK = 256


def layer_queries(model, block, hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Return the rotated queries (H, N, D) of one layer for input hidden states (N, d) at `positions`."""
    cos, sin = L.rope_tables(model, positions, model.dtype)
    q, _, _ = L.project_qkv(block.self_attn, block.input_layernorm(hidden), cos, sin)
    return q


@torch.no_grad()
def window_attention(model, block, hidden: torch.Tensor, keys: torch.Tensor, window: int) -> torch.Tensor:
    """Return the attention weights (H, w, T) of the last `window` queries over all T keys.

    `hidden` (T, d) is the layer's input and `keys` (Hkv, T, D) its cached, rotated keys.
    Each query attends to the keys up to its own position.
    """
    n_tokens = hidden.shape[0]
    window = min(window, n_tokens)
    positions = torch.arange(n_tokens, device=hidden.device)
    q = layer_queries(model, block, hidden[-window:], positions[-window:])
    return L.attention_probs(block.self_attn, q, keys, positions[-window:], positions)


@torch.no_grad()
def accumulated_attention(model, block, hidden: torch.Tensor, keys: torch.Tensor,
                          chunk: int = QUERY_CHUNK) -> torch.Tensor:
    """Return the attention (H, T) each key receives, summed over every query of the prompt.

    Queries run in chunks of `chunk`; a chunk reads only the keys up to its last position.
    """
    n_tokens = hidden.shape[0]
    positions = torch.arange(n_tokens, device=hidden.device)
    q = layer_queries(model, block, hidden, positions)
    total = torch.zeros(q.shape[0], n_tokens, device=hidden.device)
    for start in range(0, n_tokens, chunk):
        stop = min(start + chunk, n_tokens)
        probs = L.attention_probs(block.self_attn, q[:, start:stop], keys[:, :stop],
                                  positions[start:stop], positions[:stop])  # (H, c, stop)
        total[:, :stop] += probs.sum(dim=1)
    return total


def per_kv_head(scores: torch.Tensor, n_kv_heads: int) -> torch.Tensor:
    """Sum scores (H, T) over the query heads that share each KV head; returns (Hkv, T)."""
    n_heads, n_tokens = scores.shape
    return scores.view(n_kv_heads, n_heads // n_kv_heads, n_tokens).sum(dim=1)
