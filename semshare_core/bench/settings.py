"""Baselines and ablations expressed as PipelineParams settings."""

from __future__ import annotations

from ..params import PipelineParams
from ..selection import retain_budget

DEFAULT = "SemShareKV (defaults)"


def constant_retain_share(params: PipelineParams, n_layers: int, n_tokens: int = 4096) -> float:
    """Share per layer that keeps as many tokens in total as the decaying schedule of `params`."""
    total = sum(retain_budget(index, n_tokens, params, n_layers) for index in range(n_layers))
    return total / (n_layers * n_tokens)


def ablation_settings(base: PipelineParams, n_layers: int) -> dict[str, PipelineParams]:
    """Named settings, each changing one choice of `base`; the first is `base` itself."""
    constant = constant_retain_share(base, n_layers)
    return {
        DEFAULT: base,
        "no recompute after layer 0": base.replace(hd_fraction=0.0),
        "keys not re-rotated": base.replace(rerotate_keys=not base.rerotate_keys),
        f"RoPE in matching {'off' if base.rope_in_matching else 'on'}": base.replace(
            rope_in_matching=not base.rope_in_matching),
        "no retention": base.replace(retention=False),
        f"retention constant ({constant:.2f} per layer)": base.replace(retain_first=constant, retain_decay=1.0),
        "retention growing (reversed schedule)": base.replace(retain_growing=True),
        "CacheBlend-style (copied spans only)": base.replace(recompute_mismatched=True),
        "matched KV replaced by zeros": base.replace(reuse_mode="zeros"),
        "matched KV replaced by random values": base.replace(reuse_mode="random"),
    }
