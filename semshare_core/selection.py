"""Token selection per layer: the tokens recomputed during prefill and the tokens kept after it."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .params import PipelineParams


def recompute_budget(layer_index: int, n_tokens: int, params: PipelineParams) -> int:
    """Tokens whose hidden state layer `layer_index` passes on to the next layer.

    Layer 0 passes on the high-deviation share; each deeper layer passes on
    `recompute_decay` times as many (Recomp[i] = T * hd_fraction * decay^i).
    """
    return math.ceil(n_tokens * params.hd_fraction * params.recompute_decay ** layer_index)


def retain_budget(layer_index: int, n_tokens: int, params: PipelineParams, n_layers: int | None = None) -> int:
    """Tokens layer `layer_index` keeps after prefill (Retain[i] = T * first * decay^i).

    With `retain_growing`, layer i takes the budget of layer n_layers-1-i, which
    `n_layers` must then give.
    """
    if params.retain_growing:
        if n_layers is None:
            raise ValueError("retain_budget needs n_layers when retain_growing is set")
        layer_index = n_layers - 1 - layer_index
    share = params.retain_first * params.retain_decay ** layer_index
    return min(n_tokens, max(params.retain_min_tokens, math.ceil(n_tokens * share)))


def hot_mask(received: torch.Tensor, mass: float) -> torch.Tensor:
    """Mark the fewest tokens whose received attention sums to `mass` of the total."""
    order = received.argsort(descending=True)
    cumulative = received[order].cumsum(0) / received.sum().clamp_min(1e-12)
    n_hot = int((cumulative < mass).sum()) + 1
    mask = torch.zeros_like(received, dtype=torch.bool)
    mask[order[:n_hot]] = True
    return mask


def top_with_tail(scores: torch.Tensor, budget: int, is_tail: torch.Tensor) -> torch.Tensor:
    """Return sorted indices of the `budget` highest scores, always including tail entries."""
    scores = scores.masked_fill(is_tail, float("inf"))
    budget = min(max(budget, int(is_tail.sum())), scores.shape[0])
    return scores.topk(budget).indices.sort().values


def choose_recompute(layer_index: int, deviation: torch.Tensor, received: torch.Tensor,
                     is_tail: torch.Tensor, n_tokens: int, params: PipelineParams,
                     mismatched: torch.Tensor | None = None) -> torch.Tensor:
    """Pick, among this layer's active tokens, those that continue to the next layer.

    deviation, received, is_tail and mismatched are per active token. Layer 0 ranks by
    K/V deviation alone (high-deviation tokens); deeper layers weight the deviation of
    hot tokens by `hot_weight` and of cold tokens by `cold_weight`. With the 'mismatch'
    signal, tokens outside copied spans come first; with 'random', a seeded random
    order replaces the ranking. Returns indices into the active tokens.
    """
    budget = recompute_budget(layer_index, n_tokens, params)
    if params.recompute_signal == "random":
        generator = torch.Generator().manual_seed(layer_index)
        return top_with_tail(torch.rand(deviation.shape[0], generator=generator), budget, is_tail.cpu()) \
            .to(deviation.device)
    if layer_index == 0:
        scores = deviation.float()
    else:
        hot = hot_mask(received, params.hot_mass)
        scores = (deviation * torch.where(hot, params.hot_weight, params.cold_weight)).float()
    if params.recompute_signal == "mismatch" and mismatched is not None:
        # Deviations are below 1 after scaling by the largest one, so any mismatch outranks them.
        scores = scores / scores.max().clamp_min(1e-12) + mismatched.float()
    return top_with_tail(scores, budget, is_tail)


def pooled(scores: torch.Tensor, kernel: int) -> torch.Tensor:
    """Average each score (T,) with its neighbours within an odd `kernel`.

    At the edges the window averages only the positions that exist.
    """
    if kernel == 1:
        return scores
    return F.avg_pool1d(scores[None, None], kernel, stride=1, padding=kernel // 2, count_include_pad=False)[0, 0]


def choose_retained(layer_index: int, received: torch.Tensor, is_tail: torch.Tensor,
                    params: PipelineParams, n_layers: int | None = None) -> torch.Tensor:
    """Return sorted positions a layer keeps after prefill, ranked by pooled attention received.

    Pooling keeps the neighbours of a token that draws attention. Without it the budget
    went to scattered tokens, and at 41% eviction two presets' outputs looped.
    """
    budget = retain_budget(layer_index, received.shape[0], params, n_layers)
    return top_with_tail(pooled(received.float(), params.retain_pooling), budget, is_tail)
