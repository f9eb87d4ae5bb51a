"""Untimed analysis after a run: cache deviation from the true cache, attention deviation, output metrics."""

from __future__ import annotations

import re

import numpy as np
import torch
from rouge_score import rouge_scorer

from . import layers as L
from .engine import PrefillTrace, ReusedCache, kv_deviation
from .result import TokenProb


def relative_deviation(keys, values, true_keys, true_values) -> np.ndarray:
    """Per-token (||dK|| + ||dV||) / (||K_true|| + ||V_true||) from (Hkv, T, D) tensors."""
    absolute = kv_deviation(keys, values, true_keys, true_values)
    scale = true_keys.float().square().sum(dim=(0, 2)).sqrt() + true_values.float().square().sum(dim=(0, 2)).sqrt()
    return (absolute / scale.clamp_min(1e-12)).cpu().numpy()


@torch.no_grad()
def deviation_before(model, reused: ReusedCache, true_kv) -> np.ndarray:
    """(L, T) deviation of the rearranged reference cache from the true cache."""
    rows = []
    for index, (true_keys, true_values) in enumerate(true_kv):
        keys, values = reused.layer(model, index)
        rows.append(relative_deviation(keys, values, true_keys, true_values))
    return np.stack(rows)


def deviation_after(trace: PrefillTrace, true_kv) -> np.ndarray:
    """(L, T) deviation of the cache after recompute (before eviction) from the true cache."""
    rows = [relative_deviation(keys, values, true_keys, true_values)
            for (keys, values), (true_keys, true_values) in zip(trace.layer_kv, true_kv)]
    return np.stack(rows)


@torch.no_grad()
def true_last_queries(model, hidden_states, n_tokens: int) -> list[torch.Tensor]:
    """Compute the last token's query (H, D) at each layer of the full prefill."""
    position = torch.tensor([n_tokens - 1], device=hidden_states[0].device)
    cos, sin = L.rope_tables(model, position, model.dtype)
    queries = []
    for block, layer_input in zip(model.model.layers, hidden_states):
        q, _, _ = L.project_qkv(block.self_attn, block.input_layernorm(layer_input[-1:]), cos, sin)
        queries.append(q[:, -1])
    return queries


@torch.no_grad()
def attention_deviation(model, trace: PrefillTrace, true_kv, true_queries) -> np.ndarray:
    """(L,) total variation distance between the last token's attention under both caches, mean over heads."""
    n_tokens = true_kv[0][0].shape[1]
    positions = torch.arange(n_tokens, device=true_kv[0][0].device)
    last = positions[-1:]
    distances = []
    for block, (keys, _), (true_keys, _), q, true_q in zip(
            model.model.layers, trace.layer_kv, true_kv, trace.last_queries, true_queries):
        attn = block.self_attn
        probs = L.attention_probs(attn, q[:, None], keys, last, positions)[:, 0]             # (H, T)
        true_probs = L.attention_probs(attn, true_q[:, None], true_keys, last, positions)[:, 0]
        distances.append(float(0.5 * (probs - true_probs).abs().sum(dim=-1).mean()))
    return np.array(distances)


def top_probs(tokenizer, logits: torch.Tensor, k: int = 8) -> list[TokenProb]:
    probs = logits.float().softmax(dim=-1)
    values, indices = probs.topk(k)
    return [TokenProb(token=tokenizer.decode([int(i)]), token_id=int(i), prob=float(p))
            for p, i in zip(values, indices)]


class UnicodeTokenizer:
    """Lower-cased word tokens in any script; each CJK character is a token of its own.

    rouge_score's default tokenizer keeps only ASCII letters and digits, so two identical
    Chinese or Arabic outputs would score 0.
    """

    _pattern = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]|[^\W_]+")

    def tokenize(self, text: str) -> list[str]:
        return self._pattern.findall(text.lower())


_scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=UnicodeTokenizer())


def rouge_l(reference: str, candidate: str) -> float:
    """ROUGE-L F1 between two texts; 1.0 when both are empty."""
    if not reference.strip() and not candidate.strip():
        return 1.0
    return float(_scorer.score(reference, candidate)["rougeL"].fmeasure)
