"""SnapKV and H2O: single-prompt KV compression after a full prefill, at a per-layer budget.

Both run the model's own full prefill of the target, then keep, per layer and KV head,
a budget of tokens and evict the rest:

- SnapKV (Li et al., arXiv 2404.14469) ranks the tokens before an observation window
  of the last `window` prompt queries by the attention that window gives them, summed
  over the window and over the query heads of each KV head and smoothed by average
  pooling over neighbouring positions; it keeps the top tokens plus the window itself.
  SnapKV's own code selects per attention head after repeating the KV heads; summing
  over each KV head's group instead keeps the cache at the model's KV head count.
- H2O (Zhang et al., arXiv 2306.14048) keeps heavy hitters, the tokens with the largest
  attention accumulated over every query of the prompt, plus the most recent tokens,
  half of the budget each.

The first output token comes from the full prefill's logits in both methods, so the
first step equals the full prefill's. The eviction shows in the later steps, which the
continuation perplexity scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .attention_scores import accumulated_attention, per_kv_head, window_attention
from .baseline import full_prefill
from .engine import LayerKV
from .params import PipelineParams
from .selection import retain_budget
from .timing import stopwatch

METHODS = ("snapkv", "h2o")
METHOD_NAMES = {"snapkv": "SnapKV", "h2o": "H2O"}
SNAPKV_WINDOW = 32
SNAPKV_KERNEL = 7


@dataclass
class CompressedPrefill:
    """A full prefill whose cache keeps `kept[i]` (Hkv, N_i) target positions per KV head in layer i."""

    method: str
    cache: list[LayerKV]
    kept: list[torch.Tensor]
    logits: torch.Tensor        # (vocab,) float32: the full prefill's first-step logits
    prefill_seconds: float
    selection_seconds: float
    n_tokens: int

    @property
    def ttft_seconds(self) -> float:
        """Time to the first token's logits: the full prefill plus the selection and eviction."""
        return self.prefill_seconds + self.selection_seconds

    @property
    def nbytes(self) -> int:
        return sum(layer.nbytes for layer in self.cache)


def semshare_budgets(params: PipelineParams, n_layers: int, n_tokens: int) -> list[int]:
    """Return the tokens per layer that SemShareKV's retention keeps for a prompt of `n_tokens`.

    The engine never evicts its tail tokens, so a layer keeps at least `tail_tokens`.
    Without retention every layer keeps every token.
    """
    if not params.retention:
        return [n_tokens] * n_layers
    tail = min(params.tail_tokens, n_tokens)
    return [max(retain_budget(index, n_tokens, params, n_layers), tail) for index in range(n_layers)]


def snapkv_keep(window_scores: torch.Tensor, budget: int, window: int = SNAPKV_WINDOW,
                kernel: int = SNAPKV_KERNEL) -> torch.Tensor:
    """Return sorted positions (Hkv, budget) that SnapKV keeps per KV head.

    `window_scores` (Hkv, T) is the attention the observation window's queries give each
    token, summed over the window and the query heads of each KV head. The last `window`
    tokens are always kept; with a budget below the window, only the last `budget` are.
    """
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"kernel must be a positive odd number, got {kernel}")
    n_heads, n_tokens = window_scores.shape
    budget = min(budget, n_tokens)
    window = min(window, n_tokens)
    if budget <= window:
        return _last_positions(n_heads, budget, n_tokens, window_scores.device)

    prefix = window_scores[:, :n_tokens - window].float()
    # As SnapKV's own code pools (FasterDecoding/SnapKV, snapkv_utils.py): zero padding counts in the average.
    pooled = F.avg_pool1d(prefix[:, None], kernel_size=kernel, stride=1, padding=kernel // 2)[:, 0]
    chosen = pooled.topk(budget - window, dim=-1).indices
    recent = _last_positions(n_heads, window, n_tokens, window_scores.device)
    return torch.cat([chosen, recent], dim=1).sort(dim=1).values


def h2o_keep(accumulated: torch.Tensor, budget: int) -> torch.Tensor:
    """Return sorted positions (Hkv, budget) that H2O keeps per KV head.

    `accumulated` (Hkv, T) is the attention each token received from every query. Half
    of the budget (rounded down) goes to the most recent tokens, the rest to the heavy
    hitters among the earlier tokens.
    """
    n_heads, n_tokens = accumulated.shape
    budget = min(budget, n_tokens)
    n_recent = budget // 2
    heavy = accumulated[:, :n_tokens - n_recent].float().topk(budget - n_recent, dim=-1).indices
    recent = _last_positions(n_heads, n_recent, n_tokens, accumulated.device)
    return torch.cat([heavy, recent], dim=1).sort(dim=1).values


def _last_positions(n_heads: int, count: int, n_tokens: int, device) -> torch.Tensor:
    return torch.arange(n_tokens - count, n_tokens, device=device).expand(n_heads, count)


def gather_layer(keys: torch.Tensor, values: torch.Tensor, kept: torch.Tensor) -> LayerKV:
    """Keep positions `kept` (Hkv, N) of each KV head from keys and values (Hkv, T, D).

    LayerKV holds one position per slot, and each head keeps other tokens in a slot.
    Every kept prompt token is visible to every later query, so the causal mask of the
    continuation needs only a position below the prompt's end per slot: the largest
    position over heads is used.
    """
    index = kept[..., None].expand(-1, -1, keys.shape[-1])
    return LayerKV(keys.gather(1, index), values.gather(1, index), kept.max(dim=0).values)


@torch.no_grad()
def compressed_prefill(model, token_ids: torch.Tensor, method: str, budgets: list[int],
                       window: int = SNAPKV_WINDOW, kernel: int = SNAPKV_KERNEL) -> CompressedPrefill:
    """Prefill `token_ids` (T,) in full, then keep `budgets[i]` tokens per KV head of layer i.

    `method` is 'snapkv' or 'h2o'. The selection recomputes each layer's queries from
    the prefill's hidden states, because the fused attention of the prefill does not
    return its weights. Its time counts in the time to first token.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    blocks = model.model.layers
    if len(budgets) != len(blocks):
        raise ValueError(f"budgets has {len(budgets)} entries but the model has {len(blocks)} layers")

    prefill = full_prefill(model, token_ids, hidden_states=True)
    timing = {}
    with stopwatch(token_ids.device, timing, "selection"):
        cache, kept = [], []
        for block, hidden, (keys, values), budget in zip(blocks, prefill.hidden_states, prefill.kv, budgets):
            positions = _select(model, block, hidden, keys, method, budget, window, kernel)
            kept.append(positions)
            cache.append(gather_layer(keys, values, positions))
    return CompressedPrefill(method=method, cache=cache, kept=kept, logits=prefill.logits,
                             prefill_seconds=prefill.seconds, selection_seconds=timing["selection"],
                             n_tokens=token_ids.numel())


def _select(model, block, hidden, keys, method: str, budget: int, window: int, kernel: int) -> torch.Tensor:
    n_kv_heads = keys.shape[0]
    if budget >= keys.shape[1]:
        return torch.arange(keys.shape[1], device=keys.device).expand(n_kv_heads, -1)
    if method == "snapkv":
        probs = window_attention(model, block, hidden, keys, window)  # (H, w, T)
        return snapkv_keep(per_kv_head(probs.sum(dim=1), n_kv_heads), budget, window, kernel)
    accumulated = accumulated_attention(model, block, hidden, keys)   # (H, T)
    return h2o_keep(per_kv_head(accumulated, n_kv_heads), budget)
