"""A run's per-token and per-layer numbers as tables, for CSV download."""

from __future__ import annotations

import numpy as np
import pandas as pd

import semshare_core as ss


def token_table(result: ss.RunResult) -> pd.DataFrame:
    """Build one row per target token: its match, deviation and cache state summed over layers."""
    n_target = result.n_target_tokens
    mapping = np.asarray(result.mapping)
    start, end = result.target.document_span
    positions = np.arange(n_target)
    high_deviation = np.isin(positions, np.asarray(result.hd_tokens))
    return pd.DataFrame({
        "target position": positions,
        "target token": result.target.tokens,
        "in document": (positions >= start) & (positions < end),
        "matched reference position": mapping,
        "matched reference token": [result.reference.tokens[index] for index in mapping],
        "match distance (bits)": np.asarray(result.match_distance).round(3),
        "high deviation at layer 0": high_deviation,
        "layers recomputed": np.asarray(result.recomputed, dtype=bool).sum(axis=0),
        "layers retained": np.asarray(result.retained, dtype=bool).sum(axis=0),
        "mean K/V deviation before recompute": np.asarray(result.kv_deviation_before).mean(axis=0).round(5),
        "mean K/V deviation after recompute": np.asarray(result.kv_deviation_after).mean(axis=0).round(5),
    })


def layer_table(result: ss.RunResult) -> pd.DataFrame:
    """Build one row per layer: tokens recomputed and kept, cache bytes and deviations."""
    return pd.DataFrame({
        "layer": np.arange(result.n_layers),
        "tokens recomputed": np.asarray(result.recomputed, dtype=bool).sum(axis=1),
        "tokens retained": np.asarray(result.retained, dtype=bool).sum(axis=1),
        "KV bytes, full prefill": np.asarray(result.kv_bytes_per_layer_full),
        "KV bytes, SemShareKV": np.asarray(result.kv_bytes_per_layer_semshare),
        "mean K/V deviation before recompute": np.asarray(result.kv_deviation_before).mean(axis=1).round(5),
        "mean K/V deviation after recompute": np.asarray(result.kv_deviation_after).mean(axis=1).round(5),
        "attention deviation (total variation)": np.asarray(result.attention_deviation).round(5),
    })
