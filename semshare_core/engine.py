"""Layer-by-layer selective prefill over a rearranged reference cache.

Layer i computes fresh keys and values for its active tokens (all tokens at layer 0,
then only those the layer below passed on) and reuses the rearranged reference K/V for
every other token. Only the tokens chosen to continue go through attention and the
MLP, so the work per layer shrinks with the active set: the saving is real compute,
not a full forward whose results are overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import layers as L
from .params import PipelineParams
from .selection import choose_recompute, choose_retained
from .timing import PhaseTimer


@dataclass
class LayerKV:
    """One layer's cache after prefill; positions are the target positions of the kept tokens."""

    keys: torch.Tensor       # (Hkv, N, D)
    values: torch.Tensor     # (Hkv, N, D)
    positions: torch.Tensor  # (N,)

    @property
    def nbytes(self) -> int:
        return self.keys.numel() * self.keys.element_size() + self.values.numel() * self.values.element_size()


@dataclass
class PrefillTrace:
    """Per-layer record of recompute, retention and attention, for the views. (L, T) masks are on the CPU."""

    recomputed: torch.Tensor
    retained: torch.Tensor
    received: torch.Tensor
    hd_tokens: torch.Tensor
    layer_kv: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)  # before eviction
    last_queries: list[torch.Tensor] = field(default_factory=list)                   # (H, D) per layer


@dataclass
class PrefillOutput:
    cache: list[LayerKV]
    logits: torch.Tensor  # (vocab,) float32, first decoding step
    trace: PrefillTrace


@dataclass
class ReusedCache:
    """The reference prompt's cache and the target-to-reference mapping."""

    reference_kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer (Hkv, R, D)
    mapping: torch.Tensor                                  # (T,) reference position per target token
    rerotate: bool = True
    mode: str = "fuzzy"                                    # PipelineParams.reuse_mode
    forced: torch.Tensor | None = None                     # (T,) bool: recomputed at every layer
    mismatched: torch.Tensor | None = None                 # (T,) bool: outside copied spans, ranked first
    _tables: tuple[torch.Tensor, torch.Tensor] | None = None

    def layer(self, model, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return layer `index`'s reference K/V in target order, keys re-rotated if enabled.

        In the ablation modes 'zeros' and 'random' the matched K/V are replaced, so the
        reference contributes nothing but (for 'random') its per-layer mean and spread.
        """
        keys, values = self.reference_kv[index]
        if self.mode != "fuzzy":
            return _replacement(keys, self.mapping.numel(), index, self.mode), \
                _replacement(values, self.mapping.numel(), index + 1000, self.mode)
        keys = keys.index_select(1, self.mapping)
        values = values.index_select(1, self.mapping)
        if not self.rerotate:
            return keys, values
        if self._tables is None:
            delta = torch.arange(self.mapping.numel(), device=self.mapping.device) - self.mapping
            self._tables = L.delta_rope_tables(model, delta, keys.dtype)
        return L.apply_rotation(keys, *self._tables), values


def _replacement(reference: torch.Tensor, n_tokens: int, seed: int, mode: str) -> torch.Tensor:
    """Return zeros, or Gaussian values with the reference's mean and standard deviation, shaped (Hkv, T, D)."""
    shape = (reference.shape[0], n_tokens, reference.shape[2])
    if mode == "zeros":
        return reference.new_zeros(shape)
    generator = torch.Generator(device=reference.device).manual_seed(seed)
    noise = torch.randn(shape, generator=generator, device=reference.device, dtype=torch.float32)
    mean, std = reference.float().mean(), reference.float().std()
    return (noise * std + mean).to(reference.dtype)


def kv_deviation(keys: torch.Tensor, values: torch.Tensor, ref_keys: torch.Tensor,
                 ref_values: torch.Tensor) -> torch.Tensor:
    """Per-token ||dK|| + ||dV|| over all heads, from (Hkv, N, D) tensors; returns (N,)."""
    dk = (keys - ref_keys).float().square().sum(dim=(0, 2)).sqrt()
    dv = (values - ref_values).float().square().sum(dim=(0, 2)).sqrt()
    return dk + dv


@torch.no_grad()
def selective_prefill(model, token_ids: torch.Tensor, reused: ReusedCache | None,
                      params: PipelineParams, timer: PhaseTimer, record: bool = False) -> PrefillOutput:
    """Prefill `token_ids` (T,) reusing `reused` where it is not recomputed.

    With `reused` None or `params.recompute_all`, every layer recomputes every token
    and the result equals the model's own full prefill.
    """
    blocks = model.model.layers
    n_layers, n_tokens = len(blocks), token_ids.numel()
    device, dtype = token_ids.device, model.dtype
    recompute_all = params.recompute_all or reused is None

    positions = torch.arange(n_tokens, device=device)
    n_tail = min(params.tail_tokens, n_tokens)
    is_tail = positions >= n_tokens - n_tail
    # Tokens that recompute selection must pass on: the tail and any tokens the caller forces.
    must_recompute = is_tail | reused.forced if reused is not None and reused.forced is not None else is_tail
    trace = PrefillTrace(
        recomputed=torch.zeros(n_layers, n_tokens, dtype=torch.bool),
        retained=torch.zeros(n_layers, n_tokens, dtype=torch.bool),
        received=torch.zeros(n_layers, n_tokens),
        hd_tokens=torch.empty(0, dtype=torch.long))

    with timer.phase("layers"):
        cos, sin = L.rope_tables(model, positions, dtype)
        hidden = model.model.embed_tokens(token_ids)  # (T, d)
    active = positions  # tokens whose hidden state exists at this layer's input

    cache = []
    for index, block in enumerate(blocks):
        attn = block.self_attn
        is_last_layer = index == n_layers - 1

        # Fresh q/k/v for the active tokens. Gathers use index_select: on the CPU it ran 4-6x
        # faster than indexing with a tensor, for the same copy.
        with timer.phase("layers"):
            q, k, v = L.project_qkv(attn, block.input_layernorm(hidden), cos.index_select(0, active),
                                    sin.index_select(0, active))

        # This layer's cache: rearranged reference K/V, overwritten where fresh
        needs_reused = not recompute_all and (active.numel() < n_tokens or not is_last_layer)
        if needs_reused:
            with timer.phase("rearrange"):
                reused_keys, reused_values = reused.layer(model, index)
                deviation = kv_deviation(k, v, reused_keys.index_select(1, active),
                                         reused_values.index_select(1, active))
                # reused.layer returns new tensors, so the fresh K/V can overwrite them in place.
                keys = reused_keys.index_copy_(1, active, k)
                values = reused_values.index_copy_(1, active, v)
        else:
            keys, values = k, v

        # Attention the last tokens give to every token: ranks hot tokens and retention
        with timer.phase("selection"):
            received = attention_received(attn, q, keys, active, positions, n_tail, params.observation_queries)

            if is_last_layer:
                keep = torch.tensor([active.numel() - 1], device=device)
            elif recompute_all:
                keep = torch.arange(active.numel(), device=device)
            else:
                mismatched = reused.mismatched[active] if reused.mismatched is not None else None
                keep = choose_recompute(index, deviation, received[active], must_recompute[active], n_tokens,
                                        params, mismatched)

        # Attention and MLP for the tokens that continue
        with timer.phase("layers"):
            query_positions = active[keep]
            out = L.attend(attn, q.index_select(1, keep), keys, values, query_positions, positions)
            hidden = L.feed_forward(block, hidden.index_select(0, keep), out)

        # Retention: evict low-attention tokens from this layer's cache
        with timer.phase("retention"):
            if params.retention:
                kept = choose_retained(index, received, is_tail, params, n_layers)
                cache.append(LayerKV(keys.index_select(1, kept), values.index_select(1, kept), kept))
            else:
                kept = positions
                cache.append(LayerKV(keys, values, positions))

        _record_layer(trace, index, active, kept, received, index == 0 and not recompute_all,
                      query_positions, keys, values, q, record)
        active = query_positions

    with timer.phase("layers"):
        logits = L.final_logits(model, hidden[-1:])[0]
    return PrefillOutput(cache=cache, logits=logits, trace=trace)


def attention_received(attn, q: torch.Tensor, keys: torch.Tensor, active: torch.Tensor,
                       positions: torch.Tensor, n_tail: int, n_sampled: int) -> torch.Tensor:
    """Mean attention each token receives from the observation queries; returns (T,).

    The observation queries are the tail tokens plus up to `n_sampled` active tokens
    spread evenly over the prompt. A token's sum is divided by the number of observation
    queries that can see it, so late tokens are not ranked low only because fewer
    queries follow them.
    """
    n_active = active.numel()
    picks = torch.linspace(0, n_active - n_tail - 1, steps=n_sampled, device=active.device).long() \
        if n_sampled > 0 and n_active > n_tail else active.new_empty(0)
    picks = torch.cat([picks.unique(), torch.arange(n_active - n_tail, n_active, device=active.device)])

    probs = L.attention_probs(attn, q[:, picks], keys, active[picks], positions)  # (H, S, T)
    observers = (positions[None, :] <= active[picks][:, None]).sum(dim=0).clamp_min(1)  # (T,)
    return probs.sum(dim=1).mean(dim=0) / observers


def _record_layer(trace: PrefillTrace, index: int, active, kept, received, is_hd_layer: bool,
                  passed_on, keys, values, q, record: bool) -> None:
    trace.recomputed[index, active.cpu()] = True
    trace.retained[index, kept.cpu()] = True
    trace.received[index] = received.float().cpu()
    if is_hd_layer:
        trace.hd_tokens = passed_on.cpu()
    if record:
        trace.layer_kv.append((keys, values))
        trace.last_queries.append(q[:, -1])
