"""Exact prefix caching, as vLLM and SGLang do it: reuse the longest common token prefix, compute the rest."""

from __future__ import annotations

import torch

from ..timing import stopwatch


def common_prefix_length(reference_ids: list[int], target_ids: list[int]) -> int:
    length = 0
    for a, b in zip(reference_ids, target_ids):
        if a != b:
            break
        length += 1
    return length


def ideal_prefix_speedup(reference_ids: list[int], target_ids: list[int]) -> float:
    """Full prefill over prefix caching if cost were linear in the computed tokens."""
    prefix = min(common_prefix_length(reference_ids, target_ids), len(target_ids) - 1)
    return len(target_ids) / (len(target_ids) - prefix)


@torch.no_grad()
def prefix_prefill_seconds(model, reference_ids: list[int], target_ids: list[int], device) -> float:
    """Time the prefill of the target's tokens after the common prefix, with the prefix cached.

    The prefix's cache is computed from the target itself, which gives the same K/V as
    the reference's because the tokens and positions are the same. One untimed run
    comes first, as for the other prefills.
    """
    prefix = min(common_prefix_length(reference_ids, target_ids), len(target_ids) - 1)
    ids = torch.tensor(target_ids, device=device)
    seconds = {}
    for attempt in range(2):
        cache = model(input_ids=ids[None, :prefix], use_cache=True).past_key_values if prefix else None
        positions = torch.arange(prefix, ids.numel(), device=device)
        with stopwatch(device, seconds, attempt):
            model(input_ids=ids[None, prefix:], position_ids=positions[None], past_key_values=cache,
                  use_cache=True, logits_to_keep=1)
    return seconds[1]
