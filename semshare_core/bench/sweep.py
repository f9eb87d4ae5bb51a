"""Many settings on one pair: the full prefill and its perplexity once, then each setting.

`compare` runs the full prefill, decoding and the views' analysis for every call. A
sweep over settings needs only SemShareKV's prefill and the continuation's perplexity
per setting, so it computes the rest once per pair.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch

from ..baseline import FullPrefill, full_prefill
from ..model import ModelBundle
from ..params import PipelineParams
from ..perplexity import continuation_token_ids, first_step_kl, perplexity_from_layers, perplexity_from_model
from ..matching import hash_prompt
from ..pipeline import SemShareRun, _semshare_prefill
from ..prompts import DEFAULT_INSTRUCTION, build_prompt
from ..result import PromptInfo
from .pairs import Pair


@dataclass
class PreparedPair:
    """One pair's prompts, the reference's stored cache and the full prefill's figures."""

    pair: Pair
    reference: PromptInfo
    target: PromptInfo
    target_ids: torch.Tensor
    reference_prefill: FullPrefill
    full: FullPrefill
    full_seconds: list[float]
    continuation_ids: list[int]
    perplexity_full: float

    @property
    def kv_bytes_full(self) -> int:
        return sum(keys.numel() * keys.element_size() * 2 for keys, _ in self.full.kv)


def prepare(bundle: ModelBundle, pair: Pair, continuation: str, repeats: int = 2) -> PreparedPair:
    """Build document-last prompts, prefill the reference and time the full prefill of the target."""
    ids = continuation_token_ids(bundle.tokenizer, continuation)
    build = lambda text: build_prompt(bundle, text, DEFAULT_INSTRUCTION, None, len(ids), document_last=True)
    reference, target = build(pair.reference), build(pair.target)
    device = bundle.device
    target_ids = torch.tensor(target.token_ids, device=device)
    reference_prefill = full_prefill(bundle.model, torch.tensor(reference.token_ids, device=device))
    full_prefill(bundle.model, target_ids)  # warm-up
    runs = [full_prefill(bundle.model, target_ids) for _ in range(repeats)]
    full = runs[-1]
    ppl = perplexity_from_model(bundle.model, full.past_key_values, full.logits, target.n_tokens, ids)
    return PreparedPair(pair, reference, target, target_ids, reference_prefill, full,
                        [run.seconds for run in runs], ids, ppl)


def time_full(bundle: ModelBundle, prepared: PreparedPair, repeats: int, rows: list[dict]) -> None:
    """Time the full prefill `repeats` more times and update the speedups of `rows`.

    The load on a shared machine changes during a sweep, so the full prefill is timed
    before and after it, and the median of all its times counts.
    """
    for _ in range(repeats):
        prepared.full_seconds.append(full_prefill(bundle.model, prepared.target_ids).seconds)
    full_seconds = statistics.median(prepared.full_seconds)
    for row in rows:
        row.update(prefill_seconds_full=full_seconds, speedup=full_seconds / row["prefill_seconds_semshare"],
                   speedup_of_ideal=full_seconds / row["prefill_seconds_semshare"] * row["recompute_fraction"],
                   matching_share=row["phase_seconds"].get("matching", 0.0) / full_seconds)


def run_setting(bundle: ModelBundle, prepared: PreparedPair, params: PipelineParams, repeats: int = 2) -> dict:
    """Time SemShareKV's prefill with `params` (fastest of `repeats`) and score its cache."""
    runs = [_run(bundle, prepared, params) for _ in range(repeats)]
    run = min(runs, key=lambda r: r.seconds)
    prefill = run.prefill
    full_seconds = statistics.median(prepared.full_seconds)
    recompute_fraction = float(prefill.trace.recomputed.float().mean())
    kv_bytes = sum(layer.nbytes for layer in prefill.cache)
    ppl = perplexity_from_layers(bundle.model, prefill.cache, prefill.logits, prepared.target.n_tokens,
                                 prepared.continuation_ids)
    return {
        "pair": prepared.pair.name,
        "n_target_tokens": prepared.target.n_tokens,
        "n_reference_tokens": prepared.reference.n_tokens,
        "reused": run.fallback_reason is None,
        "effective_hd_fraction": run.hd_fraction,
        "recompute_fraction": recompute_fraction,
        "prefill_seconds_full": full_seconds,
        "prefill_seconds_semshare": run.seconds,
        "phase_seconds": dict(run.phase_seconds),
        "speedup": full_seconds / run.seconds,
        "ideal_speedup": 1.0 / recompute_fraction,
        "speedup_of_ideal": full_seconds / run.seconds * recompute_fraction,
        "matching_share": run.phase_seconds.get("matching", 0.0) / full_seconds,
        "kv_bytes_full": prepared.kv_bytes_full,
        "kv_bytes_semshare": kv_bytes,
        "kv_saving": 1.0 - kv_bytes / prepared.kv_bytes_full,
        "perplexity_full": prepared.perplexity_full,
        "perplexity_semshare": ppl,
        "perplexity_ratio": ppl / prepared.perplexity_full,
        "first_step_kl": first_step_kl(prepared.full.logits, prefill.logits),
        "first_token_agree": bool(prepared.full.logits.argmax() == prefill.logits.argmax()),
        "meta": prepared.pair.meta,
    }


def _run(bundle: ModelBundle, prepared: PreparedPair, params: PipelineParams) -> SemShareRun:
    # Hashed untimed and per setting, since settings may change the LSH parameters.
    reference_hashes = hash_prompt(bundle.model, prepared.reference.token_ids, params)
    return _semshare_prefill(bundle.model, prepared.reference, prepared.target, prepared.target_ids,
                             prepared.reference_prefill, reference_hashes, params, record=False)
