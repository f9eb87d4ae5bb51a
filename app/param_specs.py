"""Sidebar widget, range, unit and group of each PipelineParams field.

Ranges are what the UI offers. They sit inside the limits that
`PipelineParams.__post_init__` checks, which stay the final word on validity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from semshare_core import PipelineParams


@dataclass(frozen=True)
class ParamSpec:
    label: str
    group: str
    kind: str                 # "toggle", "slider", "select_slider" or "number"
    unit: str = ""
    min_value: float | None = None
    max_value: float | None = None
    step: float | None = None
    options: tuple = ()


MATCHING = "Matching (LSH)"
REARRANGE = "Rearrangement"
RECOMPUTE = "Selective recompute"
RETENTION = "Retention (eviction)"
DECODING = "Decoding"
OTHER = "Other parameters"

GROUPS = (MATCHING, REARRANGE, RECOMPUTE, RETENTION, DECODING, OTHER)

SPECS: dict[str, ParamSpec] = {
    "rope_in_matching": ParamSpec("RoPE on embeddings before hashing", MATCHING, "toggle"),
    "matching_rope_base": ParamSpec("RoPE base for matching", MATCHING, "select_slider", "dimensionless",
                                    options=(100.0, 1000.0, 10000.0, 100000.0, 500000.0)),
    "lsh_bits": ParamSpec("LSH bits per table", MATCHING, "select_slider", "bits",
                          options=(8, 16, 32, 64, 128, 256, 512)),
    "lsh_tables": ParamSpec("LSH tables", MATCHING, "slider", "tables", 1, 8, 1),
    "lsh_seed": ParamSpec("LSH seed", MATCHING, "number", "integer seed", 0, 2**31 - 1, 1),
    "d_max_fraction": ParamSpec("d_max as share of bits", MATCHING, "slider", "share of bits, 0-1", 0.01, 1.0, 0.01),
    "similarity_window": ParamSpec("Similarity search window", MATCHING, "select_slider", "tokens",
                                   options=(8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)),
    "similarity_threshold": ParamSpec("Similarity threshold", MATCHING, "slider", "similarity, 0-1", 0.0, 1.0, 0.01),
    "rerotate_keys": ParamSpec("Re-rotate reused keys", REARRANGE, "toggle"),
    "reuse_mode": ParamSpec("Cache of tokens not recomputed", REARRANGE, "select_slider",
                            options=("fuzzy", "zeros", "random")),
    "recompute_mismatched": ParamSpec("Recompute tokens with another token id", RECOMPUTE, "toggle"),
    "hd_fraction": ParamSpec("High-deviation share at layer 0", RECOMPUTE, "slider", "share of tokens, 0-1",
                             0.0, 1.0, 0.05),
    "adaptive_hd": ParamSpec("Adapt the share to the copied spans", RECOMPUTE, "toggle"),
    "hd_min_fraction": ParamSpec("Lowest adapted share at layer 1", RECOMPUTE, "slider", "share of tokens, 0-1",
                                 0.0, 1.0, 0.05),
    "recompute_decay": ParamSpec("Recompute decay per layer", RECOMPUTE, "slider", "factor per layer",
                                 0.5, 1.0, 0.01),
    "recompute_signal": ParamSpec("What ranks tokens to recompute", RECOMPUTE, "select_slider",
                                  options=("deviation", "mismatch", "random")),
    "hot_weight": ParamSpec("Hot-token weight", RECOMPUTE, "slider", "weight", 0.0, 1.0, 0.05),
    "cold_weight": ParamSpec("Cold-token weight", RECOMPUTE, "slider", "weight", 0.0, 1.0, 0.05),
    "hot_mass": ParamSpec("Hot attention mass", RECOMPUTE, "slider", "share of attention, 0-1", 0.05, 1.0, 0.05),
    "tail_tokens": ParamSpec("Tail tokens always recomputed", RECOMPUTE, "slider", "tokens", 1, 64, 1),
    "observation_queries": ParamSpec("Sampled observation queries", RECOMPUTE, "slider", "tokens", 0, 256, 8),
    "recompute_all": ParamSpec("Recompute every token", RECOMPUTE, "toggle"),
    "retention": ParamSpec("Evict low-attention tokens", RETENTION, "toggle"),
    "retain_first": ParamSpec("Share kept at layer 0", RETENTION, "slider", "share of tokens, 0-1", 0.05, 1.0, 0.05),
    "retain_decay": ParamSpec("Retention decay per layer", RETENTION, "slider", "factor per layer", 0.5, 1.0, 0.002),
    "retain_pooling": ParamSpec("Retention pooling window", RETENTION, "slider", "tokens", 1, 31, 2),
    "retain_min_tokens": ParamSpec("Fewest tokens kept per layer", RETENTION, "slider", "tokens", 1, 512, 1),
    "retain_growing": ParamSpec("Reverse schedule (grows with depth)", RETENTION, "toggle"),
    "max_new_tokens": ParamSpec("Max new tokens", DECODING, "slider", "tokens", 0, 512, 1),
    "do_sample": ParamSpec("Sample instead of greedy", DECODING, "toggle"),
    "temperature": ParamSpec("Temperature", DECODING, "slider", "dimensionless", 0.05, 2.0, 0.05),
    "top_p": ParamSpec("Top-p", DECODING, "slider", "probability mass, 0-1", 0.05, 1.0, 0.05),
    "sample_seed": ParamSpec("Sampling seed", DECODING, "number", "integer seed", 0, 2**31 - 1, 1),
}


def spec_for(field: dataclasses.Field) -> ParamSpec:
    """Return the spec of a field, or a plain widget for a field added to the library later."""
    if field.name in SPECS:
        return SPECS[field.name]
    label = field.name.replace("_", " ").capitalize()
    if isinstance(field.default, bool):
        return ParamSpec(label, OTHER, "toggle")
    step = 1 if isinstance(field.default, int) else 0.01
    return ParamSpec(label, OTHER, "number", step=step)


def param_fields() -> list[dataclasses.Field]:
    return list(dataclasses.fields(PipelineParams))
