"""Per-pair metrics from a comparison run, and their median and spread over pairs."""

from __future__ import annotations

import statistics

from ..analysis import rouge_l
from ..result import RunResult
from .pairs import Pair
from .prefix import common_prefix_length, ideal_prefix_speedup


def pair_metrics(result: RunResult, pair: Pair) -> dict:
    """Flat, JSON-ready metrics of one run: time, memory, quality and matching."""
    extras = result.extras
    row = {
        "pair": pair.name,
        "n_reference_tokens": result.n_reference_tokens,
        "n_target_tokens": result.n_target_tokens,
        "similarity": result.similarity,
        "lexical_similarity": result.lexical_similarity,
        "reused": result.reused,
        "recompute_fraction": result.recompute_fraction,
        "attention_work_fraction": result.attention_work_fraction,
        "retained_fraction": result.retained_fraction,
        "prefill_seconds_full": result.prefill_seconds_full,
        "prefill_seconds_semshare": result.prefill_seconds_semshare,
        "speedup": result.speedup,
        "ideal_speedup": result.ideal_speedup,
        "speedup_of_ideal": result.speedup / result.ideal_speedup,
        "matching_share": result.phase_seconds.get("matching", 0.0) / max(result.prefill_seconds_full, 1e-9),
        "phase_seconds": dict(result.phase_seconds),
        "kv_bytes_full": result.kv_bytes_full,
        "kv_bytes_semshare": result.kv_bytes_semshare,
        "kv_saving": 1.0 - result.kv_bytes_semshare / max(result.kv_bytes_full, 1),
        "first_step_kl": extras.get("first_step_kl"),
        "first_token_agree": result.first_token_agree,
        "rouge_l_outputs": result.rouge_l_outputs,
        "prefix_tokens": common_prefix_length(result.reference.token_ids, result.target.token_ids),
        "prefix_ideal_speedup": ideal_prefix_speedup(result.reference.token_ids, result.target.token_ids),
        "output_full": result.output_full,
        "output_semshare": result.output_semshare,
        "meta": pair.meta,
    }
    if "perplexity_full" in extras:
        row.update(perplexity_full=extras["perplexity_full"], perplexity_semshare=extras["perplexity_semshare"],
                   perplexity_ratio=extras["perplexity_semshare"] / extras["perplexity_full"],
                   continuation_tokens=extras["continuation_tokens"])
    if pair.gold_summary and not extras.get("document_last"):
        row.update(rouge_l_gold_full=rouge_l(pair.gold_summary, result.output_full),
                   rouge_l_gold_semshare=rouge_l(pair.gold_summary, result.output_semshare))
    return row


def spread(values: list[float]) -> dict:
    """Median, minimum, maximum and count of the values that are present."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {"median": statistics.median(present), "min": min(present), "max": max(present), "n": len(present)}


def aggregate(rows: list[dict], group_by: list[str], columns: list[str]) -> list[dict]:
    """Group rows by the values of `group_by` and give each column's spread per group, in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(key) for key in group_by), []).append(row)
    table = []
    for key, members in groups.items():
        entry = dict(zip(group_by, key))
        entry["pairs"] = len(members)
        for column in columns:
            entry[column] = spread([_number(row.get(column)) for row in members])
        table.append(entry)
    return table


def _number(value):
    if isinstance(value, bool):
        return float(value)
    return value
