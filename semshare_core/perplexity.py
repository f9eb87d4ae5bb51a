"""Teacher-forced perplexity of a continuation under the full cache and under SemShareKV's caches.

The first continuation token is scored by the prefill's logits; each later token by
the output at the token before it. Both functions leave the prompt's cache as it was.
"""

from __future__ import annotations

import math

import torch

from . import layers as L
from .engine import LayerKV


def continuation_token_ids(tokenizer, text: str) -> list[int]:
    """Tokenize the continuation on its own, without special tokens."""
    return tokenizer.encode(text, add_special_tokens=False)


def perplexity(first_logits: torch.Tensor, later_logits: torch.Tensor, token_ids: torch.Tensor) -> float:
    """exp(mean negative log-likelihood) of `token_ids` (N,).

    `first_logits` (vocab,) predicts token 0 and `later_logits` (N, vocab) row i
    predicts token i+1, so its last row is not used.
    """
    logits = torch.cat([first_logits[None].float(), later_logits[:-1].float()])
    nll = torch.nn.functional.cross_entropy(logits, token_ids, reduction="mean")
    return float(math.exp(float(nll)))


@torch.no_grad()
def perplexity_from_model(model, past_key_values, first_logits: torch.Tensor, n_prompt_tokens: int,
                          token_ids: list[int]) -> float:
    """Score the continuation with the model's own forward over its prompt cache.

    The forward appends to `past_key_values`; it is cropped back to the prompt afterwards.
    """
    ids = torch.tensor(token_ids, device=first_logits.device)
    positions = torch.arange(n_prompt_tokens, n_prompt_tokens + ids.numel(), device=ids.device)
    try:
        output = model(input_ids=ids[None], position_ids=positions[None],
                       past_key_values=past_key_values, use_cache=True)
    finally:
        # transformers 5 crops by a negative count of tokens to remove.
        past_key_values.crop(-ids.numel())
    return perplexity(first_logits, output.logits[0], ids)


@torch.no_grad()
def perplexity_from_layers(model, cache: list[LayerKV], first_logits: torch.Tensor, n_prompt_tokens: int,
                           token_ids: list[int]) -> float:
    """Score the continuation over per-layer caches that may hold different tokens in each layer.

    Each continuation token attends to its layer's kept prompt tokens and to the
    continuation tokens up to itself, as in decoding them one at a time.
    """
    ids = torch.tensor(token_ids, device=first_logits.device)
    positions = torch.arange(n_prompt_tokens, n_prompt_tokens + ids.numel(), device=ids.device)
    cos, sin = L.rope_tables(model, positions, model.dtype)
    hidden = model.model.embed_tokens(ids)  # (N, d)
    for block, layer in zip(model.model.layers, cache):
        attn = block.self_attn
        q, k, v = L.project_qkv(attn, block.input_layernorm(hidden), cos, sin)
        keys = torch.cat([layer.keys, k], dim=1)
        values = torch.cat([layer.values, v], dim=1)
        key_positions = torch.cat([layer.positions, positions])
        out = L.attend(attn, q, keys, values, positions, key_positions)
        hidden = L.feed_forward(block, hidden, out)
    return perplexity(first_logits, L.final_logits(model, hidden), ids)


def first_step_kl(full_logits: torch.Tensor, semshare_logits: torch.Tensor) -> float:
    """KL(full || SemShareKV) of the first-step next-token distributions, in nats."""
    log_p = full_logits.float().log_softmax(dim=-1)
    log_q = semshare_logits.float().log_softmax(dim=-1)
    return float((log_p.exp() * (log_p - log_q)).sum())
