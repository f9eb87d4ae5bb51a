"""Full prefill with the model's own forward: the reference prompt's stored cache and the baseline."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .timing import stopwatch


@dataclass
class FullPrefill:
    past_key_values: object                          # the model's cache, for decoding
    kv: list[tuple[torch.Tensor, torch.Tensor]]      # per layer (Hkv, T, D)
    logits: torch.Tensor                             # (vocab,) float32 at the last position
    seconds: float
    hidden_states: tuple[torch.Tensor, ...] | None = None  # input of each layer, (T, d), when requested


def cache_tensors(past_key_values) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-layer (keys, values) without the batch dimension from a transformers cache."""
    return [(layer.keys[0], layer.values[0]) for layer in past_key_values.layers]


@torch.no_grad()
def full_prefill(model, token_ids: torch.Tensor, hidden_states: bool = False) -> FullPrefill:
    """Run the model's own forward over `token_ids` (T,) and time it.

    Only the last position's logits are computed, as a server computing the first token would.
    """
    timing = {}
    with stopwatch(token_ids.device, timing, "seconds"):
        output = model(input_ids=token_ids[None], use_cache=True, logits_to_keep=1,
                       output_hidden_states=hidden_states)
    states = tuple(h[0] for h in output.hidden_states) if hidden_states else None
    return FullPrefill(
        past_key_values=output.past_key_values,
        kv=cache_tensors(output.past_key_values),
        logits=output.logits[0, -1].float(),
        seconds=timing["seconds"],
        hidden_states=states)
