"""The three observations behind SemShareKV's design, measured on one target prompt.

1. High-deviation tokens persist across layers: Spearman's rho of the per-token KV
   deviation of the rearranged reference cache between adjacent layers.
2. Deeper layers attend to fewer tokens: attention recovery, the fewest tokens that
   hold a given share of the attention the last prompt queries give, per layer.
3. Deeper layers are more redundant: continuation perplexity after evicting tokens
   from the full prefill's cache with a decaying, constant or growing per-layer budget
   of equal total.

SemShareKV's authors report rho above 0.85 (about 0.95 in middle layers), recovery
falling with depth, and decaying budgets beating the other two, for Llama-3.1-8B,
Mistral-7B and MPT-7B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import spearmanr

from .attention_scores import window_attention
from .baseline import full_prefill
from .bench.settings import constant_retain_share
from .engine import selective_prefill
from .model import ModelBundle
from .params import PipelineParams
from .perplexity import continuation_token_ids, perplexity_from_layers
from .pipeline import compare
from .result import RunResult
from .selection import retain_budget
from .timing import PhaseTimer

RECOVERY_THRESHOLDS = (0.55, 0.9)
# The last prompt queries whose attention observation 2 measures (SnapKV's observation window).
OBSERVATION_WINDOW = 32
# Mean kept shares, below the defaults' total, at which observation 3 compares schedules.
TIGHTER_KEPT_SHARES = (0.5, 0.3)
# Prompt length at which a schedule's total is computed; longer prompts keep the same shares.
_SCHEDULE_TOKENS = 4096


def adjacent_rank_correlation(deviation: np.ndarray) -> np.ndarray:
    """Return Spearman's rho of each layer's per-token values with the next layer's, shape (L-1,).

    A layer whose values are all equal has no ranking, so its rho is NaN.
    """
    deviation = np.asarray(deviation, dtype=float)
    rhos = []
    for layer in range(deviation.shape[0] - 1):
        current, following = deviation[layer], deviation[layer + 1]
        if np.ptp(current) == 0 or np.ptp(following) == 0:
            rhos.append(np.nan)
            continue
        rhos.append(spearmanr(current, following).statistic)
    return np.asarray(rhos, dtype=float)


def attention_recovery(received: np.ndarray, threshold: float) -> int:
    """Return the fewest tokens whose attention sums to at least `threshold` of the total.

    AR = min{k : sum of the k largest values >= threshold * sum}. A tolerance of 1e-9
    keeps rounding from adding a token, so uniform attention over T tokens needs
    ceil(threshold * T).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    values = np.sort(np.asarray(received, dtype=np.float64))[::-1]
    total = values.sum()
    if total <= 0:
        raise ValueError("attention recovery needs some positive attention")
    cumulative = np.cumsum(values) / total
    return int(np.searchsorted(cumulative, threshold - 1e-9, side="left")) + 1


@dataclass
class RecoveryByLayer:
    """Attention recovery of each layer: counts[j, i] tokens hold thresholds[j] of layer i's attention."""

    thresholds: tuple[float, ...]
    counts: np.ndarray  # (len(thresholds), L)
    n_tokens: int
    window: int

    @property
    def shares(self) -> np.ndarray:
        return self.counts / self.n_tokens

    def to_dict(self) -> dict:
        return {"thresholds": list(self.thresholds), "counts": self.counts.tolist(),
                "shares": self.shares.tolist(), "n_tokens": self.n_tokens, "window": self.window}


@torch.no_grad()
def received_attention(model, token_ids: torch.Tensor, window: int = OBSERVATION_WINDOW) -> np.ndarray:
    """Return (L, T) attention each token receives, averaged over the heads and the last `window` queries.

    Each row sums to 1. The weights come from a full prefill of `token_ids` (T,).
    """
    prefill = full_prefill(model, token_ids, hidden_states=True)
    rows = []
    for block, hidden, (keys, _) in zip(model.model.layers, prefill.hidden_states, prefill.kv):
        probs = window_attention(model, block, hidden, keys, window)  # (H, w, T)
        rows.append(probs.mean(dim=(0, 1)).double().cpu().numpy())
    return np.stack(rows)


def recovery_by_layer(model, token_ids: torch.Tensor, thresholds: tuple[float, ...] = RECOVERY_THRESHOLDS,
                      window: int = OBSERVATION_WINDOW) -> RecoveryByLayer:
    """Measure observation 2 on the full prefill of `token_ids` (T,)."""
    received = received_attention(model, token_ids, window)
    counts = np.array([[attention_recovery(row, threshold) for row in received] for threshold in thresholds])
    return RecoveryByLayer(tuple(thresholds), counts, int(token_ids.numel()), min(window, int(token_ids.numel())))


def mean_kept_share(params: PipelineParams, n_layers: int, n_tokens: int = _SCHEDULE_TOKENS) -> float:
    """Share of a prompt's token-layer entries that the retention schedule of `params` keeps."""
    kept = sum(retain_budget(index, n_tokens, params, n_layers) for index in range(n_layers))
    return kept / (n_layers * n_tokens)


def decaying_schedule(base: PipelineParams, n_layers: int, kept_share: float) -> PipelineParams:
    """Return `base` with the retain_decay whose decaying schedule keeps `kept_share` of all entries.

    Bisection on the decay; the kept share grows with it. A share at or above what a
    decay of 1 keeps returns decay 1.
    """
    low, high = 1e-3, 1.0
    if mean_kept_share(base.replace(retain_decay=high), n_layers) <= kept_share:
        return base.replace(retain_decay=high)
    for _ in range(50):
        middle = (low + high) / 2
        if mean_kept_share(base.replace(retain_decay=middle), n_layers) < kept_share:
            low = middle
        else:
            high = middle
    return base.replace(retain_decay=high)


def retention_schedules(decaying: PipelineParams, n_layers: int) -> dict[str, PipelineParams]:
    """Return the decaying schedule of `decaying` and the constant and growing ones of equal total.

    They are built as the ablations of the benchmark build them: the constant schedule
    keeps the decaying schedule's mean share in every layer, the growing one runs the
    decaying schedule backwards over depth.
    """
    constant = constant_retain_share(decaying, n_layers, _SCHEDULE_TOKENS)
    return {
        "decaying": decaying,
        "constant": decaying.replace(retain_first=constant, retain_decay=1.0),
        "growing": decaying.replace(retain_growing=True),
    }


@torch.no_grad()
def retention_perplexity(model, token_ids: torch.Tensor, continuation_ids: list[int],
                         params: PipelineParams) -> dict:
    """Evict tokens from the full prefill's cache by the schedule of `params`; score the continuation.

    Every token is recomputed at every layer, so only the retention differs from a
    full prefill. Returns the perplexity and the share of token-layer entries kept.
    """
    output = selective_prefill(model, token_ids, None, params.replace(recompute_all=True),
                               PhaseTimer(token_ids.device))
    n_tokens = token_ids.numel()
    kept_share = sum(layer.keys.shape[1] for layer in output.cache) / (len(output.cache) * n_tokens)
    return {"perplexity": perplexity_from_layers(model, output.cache, output.logits, n_tokens, continuation_ids),
            "kept_share": kept_share}


def retention_observation(model, token_ids: torch.Tensor, continuation_ids: list[int], base: PipelineParams,
                          kept_shares: tuple[float, ...] = TIGHTER_KEPT_SHARES) -> list[dict]:
    """Measure observation 3: perplexity per schedule at the defaults' total and at `kept_shares`.

    Returns one dict per (total, schedule) and one for the cache without eviction.
    """
    n_layers = len(model.model.layers)
    rows = [{"schedule": "none", "target_share": 1.0,
             **retention_perplexity(model, token_ids, continuation_ids, base.replace(retention=False))}]
    decaying = [base] + [decaying_schedule(base, n_layers, share) for share in kept_shares]
    for params in decaying:
        target = mean_kept_share(params, n_layers)
        for name, schedule in retention_schedules(params, n_layers).items():
            rows.append({"schedule": name, "target_share": target, "retain_decay": params.retain_decay,
                         **retention_perplexity(model, token_ids, continuation_ids, schedule)})
    return rows


def observe_result(bundle: ModelBundle, result: RunResult, window: int = OBSERVATION_WINDOW) -> dict:
    """Measure observations 1 and 2 on the target of a comparison run."""
    token_ids = torch.tensor(result.target.token_ids, device=bundle.device)
    return {"rank_correlation": adjacent_rank_correlation(result.kv_deviation_before),
            "recovery": recovery_by_layer(bundle.model, token_ids, window=window)}


def observe_pair(bundle: ModelBundle, reference: str, target: str, params: PipelineParams | None = None,
                 continuation: str | None = None) -> dict:
    """Run a comparison of two prompts and measure the observations on it.

    Observation 3 needs a `continuation` of the target to score; without one it is left out.
    """
    params = (params or PipelineParams()).replace(max_new_tokens=1)
    result = compare(bundle, reference, target, params, continuation=continuation)
    observed = {"result": result, **observe_result(bundle, result)}
    if continuation:
        token_ids = torch.tensor(result.target.token_ids, device=bundle.device)
        continuation_ids = continuation_token_ids(bundle.tokenizer, continuation)
        observed["retention"] = retention_observation(bundle.model, token_ids, continuation_ids, params)
    return observed
