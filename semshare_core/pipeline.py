"""One comparison run: SemShareKV against the full prefill on the same target prompt."""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch

from . import analysis
from .baseline import FullPrefill, full_prefill
from .decode import decode_from_layers, decode_from_model
from .errors import InvalidParameterError, PromptTooLongError, SemShareError
from .engine import LayerKV, PrefillOutput, PrefillTrace, ReusedCache, selective_prefill
from .matching import HashedPrompt, MatchResult, hash_prompt, lexical_similarity, match_prompts
from .model import ModelBundle
from .params import PipelineParams
from .perplexity import continuation_token_ids, first_step_kl, perplexity_from_layers, perplexity_from_model
from .prompts import DEFAULT_INSTRUCTION, build_prompt
from .result import RunResult
from .timing import PeakMemory, PhaseTimer, stopwatch

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float], None]


@dataclass
class SemShareRun:
    match: MatchResult
    reused: ReusedCache | None
    prefill: PrefillOutput
    phase_seconds: dict[str, float]
    fallback_reason: str | None
    hd_fraction: float | None = None  # the share recomputed at layer 1 after adaptation

    @property
    def seconds(self) -> float:
        return float(sum(self.phase_seconds.values()))


def compare(bundle: ModelBundle, reference_text: str, target_text: str,
            params: PipelineParams | None = None, *, instruction: str = DEFAULT_INSTRUCTION,
            truncate: int | None = None, progress: ProgressCallback | None = None,
            timing_repeats: int = 1, continuation: str | None = None,
            document_last: bool | None = None) -> RunResult:
    """Run the full prefill and SemShareKV on the target and measure both.

    The reference prompt is prefilled first and its cache stored, as a server would have
    done when it served that prompt; that time is reported but not counted. Each prefill
    runs untimed first (warm-up), then `timing_repeats` times alternating with the other;
    the median counts. With `continuation`, the result's extras hold its teacher-forced
    perplexity under each cache. `document_last` (default: on when a continuation is
    given) builds both prompts without the chat template's closing tokens, so that the
    document ends the prompt. Raises a SemShareError subclass on bad input.
    """
    if isinstance(params, dict):
        params = PipelineParams.from_dict(params)
    if params is not None and not isinstance(params, PipelineParams):
        raise InvalidParameterError(f"params must be a PipelineParams, got {type(params).__name__}.")
    if isinstance(timing_repeats, bool) or not isinstance(timing_repeats, int) or timing_repeats < 1:
        raise InvalidParameterError(f"timing_repeats must be at least 1, got {timing_repeats}.")
    if document_last is None:
        document_last = bool(continuation)
    options = _Options(instruction, truncate, timing_repeats, continuation, document_last)
    with PeakMemory() as memory:
        result = _compare(bundle, reference_text, target_text, params or PipelineParams(), options, progress)
    result.peak_rss_bytes = memory.peak_bytes
    return result


@dataclass
class _Options:
    instruction: str
    truncate: int | None
    timing_repeats: int
    continuation: str | None
    document_last: bool


def _compare(bundle: ModelBundle, reference_text: str, target_text: str, params: PipelineParams,
             options: _Options, progress: ProgressCallback | None) -> RunResult:
    report = progress or (lambda phase, fraction: None)
    model, tokenizer, device = bundle.model, bundle.tokenizer, bundle.device
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    report("tokenize", 0.0)
    continuation_ids = continuation_token_ids(tokenizer, options.continuation) if options.continuation else []
    reserve = params.max_new_tokens + len(continuation_ids)
    reference = _build_named("reference", bundle, reference_text, options, reserve)
    target = _build_named("target", bundle, target_text, options, reserve)
    reference_ids = torch.tensor(reference.token_ids, device=device)
    target_ids = torch.tensor(target.token_ids, device=device)

    report("reference prefill", 0.1)
    reference_prefill = full_prefill(model, reference_ids)
    reference_hashes = hash_prompt(model, reference.token_ids, params)  # stored with its cache

    report("warm-up", 0.2)
    run_semshare = lambda record: _semshare_prefill(model, reference, target, target_ids,
                                                    reference_prefill, reference_hashes, params, record)
    warmup = full_prefill(model, target_ids, hidden_states=True)
    # The warm-up run records every layer's cache for the views. The timed runs record
    # nothing, because holding 30 layers of cache slowed them by about 3% at 4k tokens.
    recorded = run_semshare(record=True)

    # Alternate the timed runs, so that both see the same load on a shared machine.
    report("timed prefills", 0.4)
    full_runs, semshare_runs = [], []
    for _ in range(options.timing_repeats):
        full_runs.append(full_prefill(model, target_ids))
        semshare_runs.append(run_semshare(record=False))
    full = _median_run(full_runs, lambda run: run.seconds)
    timed = _median_run(semshare_runs, lambda run: run.seconds)
    semshare = replace(recorded, phase_seconds=timed.phase_seconds)

    # Before decoding, which appends to the full prefill's cache.
    scores = _scores(model, full, semshare.prefill, target.n_tokens, continuation_ids)

    report("decode", 0.6)
    timings = {}
    true_kv = full.kv
    with stopwatch(device, timings, "full"):
        generation_full = decode_from_model(model, tokenizer, full.past_key_values, full.logits,
                                            target.n_tokens, params)
    with stopwatch(device, timings, "semshare"):
        generation_semshare = decode_from_layers(model, tokenizer, semshare.prefill.cache,
                                                 semshare.prefill.logits, target.n_tokens, params)

    report("analysis", 0.85)
    views = _analyse(model, semshare, true_kv, warmup, target.n_tokens)
    lexical = lexical_similarity(reference.text, target.text)

    report("done", 1.0)
    return RunResult(
        model_name=bundle.name, device=str(device), dtype=str(bundle.dtype).replace("torch.", ""),
        params=params, reference=reference, target=target, n_layers=bundle.n_layers,
        similarity=semshare.match.similarity, lexical_similarity=lexical,
        reused=semshare.fallback_reason is None, fallback_reason=semshare.fallback_reason,
        mapping=semshare.match.mapping.cpu().numpy(), match_distance=semshare.match.distance.cpu().numpy(),
        recomputed=semshare.prefill.trace.recomputed.numpy(), retained=semshare.prefill.trace.retained.numpy(),
        hd_tokens=semshare.prefill.trace.hd_tokens.numpy(),
        kv_deviation_before=views["before"], kv_deviation_after=views["after"],
        attention_deviation=views["attention"],
        output_full=generation_full.text, output_semshare=generation_semshare.text,
        output_tokens_full=generation_full.tokens, output_tokens_semshare=generation_semshare.tokens,
        first_token_probs_full=analysis.top_probs(tokenizer, full.logits),
        first_token_probs_semshare=analysis.top_probs(tokenizer, semshare.prefill.logits),
        max_abs_logit_diff=float((semshare.prefill.logits - full.logits).abs().max()),
        first_token_agree=bool(full.logits.argmax() == semshare.prefill.logits.argmax()),
        rouge_l_outputs=analysis.rouge_l(generation_full.text, generation_semshare.text),
        prefill_seconds_full=full.seconds, prefill_seconds_semshare=semshare.seconds,
        reference_prefill_seconds=reference_prefill.seconds, phase_seconds=semshare.phase_seconds,
        decode_seconds_full=timings["full"], decode_seconds_semshare=timings["semshare"],
        kv_bytes_per_layer_full=np.array([k.nbytes + v.nbytes for k, v in true_kv]),
        kv_bytes_per_layer_semshare=np.array([layer.nbytes for layer in semshare.prefill.cache]),
        peak_rss_bytes=0,
        cuda_memory=_cuda_memory(device),
        extras={"torch_threads": torch.get_num_threads(), "match_mean_distance": semshare.match.mean_distance,
                "timing_repeats": options.timing_repeats, "document_last": options.document_last,
                "effective_hd_fraction": semshare.hd_fraction,
                **scores})


def _build_named(role: str, bundle, text, options, reserve_tokens: int):
    """Build one prompt, naming the prompt (reference or target) in any error message."""
    try:
        return build_prompt(bundle, text, options.instruction, options.truncate, reserve_tokens,
                            options.document_last)
    except PromptTooLongError as error:
        raise PromptTooLongError(f"The {role} prompt is too long. {error}", error.n_tokens, error.limit) from error
    except SemShareError as error:
        raise type(error)(f"The {role} prompt: {error}") from error


def _semshare_prefill(model, reference, target, target_ids, reference_prefill: FullPrefill,
                      reference_hashes: HashedPrompt, params: PipelineParams, record: bool) -> SemShareRun:
    """Match, then either reuse the stored reference cache or fall back to a full prefill."""
    timer = PhaseTimer(target_ids.device)
    with timer.phase("matching"):
        match = match_prompts(model, reference.token_ids, target.token_ids, target.document_span, params,
                              reference_hashes)

    if match.similarity < params.similarity_threshold:
        reason = (f"Prompt similarity {match.similarity:.2f} is below the threshold "
                  f"{params.similarity_threshold:.2f}: the target was prefilled in full.")
        with timer.phase("full prefill (fallback)"):
            full = full_prefill(model, target_ids)
        return SemShareRun(match, None, _fallback_output(full), timer.as_dict(), reason)

    mapping = match.mapping.to(target_ids.device)
    with timer.phase("matching"):
        outside = outside_copied_spans(reference.token_ids, target_ids, mapping)
        params = adapt_hd_fraction(params, outside)
    forced = outside if params.recompute_mismatched else None
    mismatched = outside if params.recompute_signal == "mismatch" else None
    reused = ReusedCache(reference_prefill.kv, mapping, params.rerotate_keys, params.reuse_mode, forced, mismatched)
    prefill = selective_prefill(model, target_ids, reused, params, timer, record=record)
    return SemShareRun(match, reused, prefill, timer.as_dict(), None, params.hd_fraction)


def adapt_hd_fraction(params: PipelineParams, outside: torch.Tensor) -> PipelineParams:
    """With `adaptive_hd`, cap the layer-1 share at the share of tokens outside copied spans.

    Tokens inside copied spans have the reference's K/V at layer 0 and mostly close to it
    above, so a near-copy needs little recompute, while a text that shares only its topic
    needs the whole budget.
    """
    if not params.adaptive_hd or params.recompute_all:
        return params
    share = float(outside.float().mean()) if outside.numel() else 0.0
    return params.replace(hd_fraction=min(params.hd_fraction, max(params.hd_min_fraction, share)))


def _scores(model, full: FullPrefill, prefill: PrefillOutput, n_tokens: int, continuation_ids: list[int]) -> dict:
    """First-step KL divergence and, with a continuation, its perplexity under each cache."""
    scores = {"first_step_kl": first_step_kl(full.logits, prefill.logits)}
    if continuation_ids:
        scores.update(
            continuation_tokens=len(continuation_ids),
            perplexity_full=perplexity_from_model(model, full.past_key_values, full.logits, n_tokens,
                                                  continuation_ids),
            perplexity_semshare=perplexity_from_layers(model, prefill.cache, prefill.logits, n_tokens,
                                                       continuation_ids))
    return scores


def outside_copied_spans(reference_ids: list[int], target_ids: torch.Tensor, mapping: torch.Tensor) -> torch.Tensor:
    """Mark target tokens that are not inside a span copied from the reference, (T,) bool.

    A token is inside one when it and the token before it are matched to identical
    tokens at consecutive reference positions. A single identical token is not enough:
    LSH matching sends most common words to an identical token somewhere.
    """
    same = torch.tensor(reference_ids, device=target_ids.device)[mapping] == target_ids
    continues = torch.zeros_like(same)
    continues[1:] = (mapping[1:] == mapping[:-1] + 1) & same[:-1]
    return ~(same & continues)


def _fallback_output(full: FullPrefill) -> PrefillOutput:
    n_layers, n_tokens = len(full.kv), full.kv[0][0].shape[1]
    positions = torch.arange(n_tokens, device=full.kv[0][0].device)
    trace = PrefillTrace(
        recomputed=torch.ones(n_layers, n_tokens, dtype=torch.bool),
        retained=torch.ones(n_layers, n_tokens, dtype=torch.bool),
        received=torch.zeros(n_layers, n_tokens),
        hd_tokens=torch.empty(0, dtype=torch.long),
        layer_kv=list(full.kv))
    cache = [LayerKV(keys, values, positions) for keys, values in full.kv]
    return PrefillOutput(cache=cache, logits=full.logits, trace=trace)


def _analyse(model, semshare: SemShareRun, true_kv, warmup: FullPrefill, n_tokens: int) -> dict:
    n_layers = len(true_kv)
    if semshare.reused is None:
        zeros = np.zeros((n_layers, n_tokens), dtype=np.float32)
        return {"before": zeros, "after": zeros, "attention": np.zeros(n_layers)}
    true_queries = analysis.true_last_queries(model, warmup.hidden_states, n_tokens)
    return {
        "before": analysis.deviation_before(model, semshare.reused, true_kv),
        "after": analysis.deviation_after(semshare.prefill.trace, true_kv),
        "attention": analysis.attention_deviation(model, semshare.prefill.trace, true_kv, true_queries),
    }


def _median_run(runs: list, seconds: Callable):
    """Return the run with the median time (the lower middle one for an even count)."""
    ordered = sorted(runs, key=seconds)
    median = statistics.median_low([seconds(run) for run in ordered])
    return next(run for run in ordered if seconds(run) == median)


def _cuda_memory(device: torch.device) -> dict[str, int] | None:
    if device.type != "cuda":
        return None
    return {"max_memory_allocated": torch.cuda.max_memory_allocated(device),
            "max_memory_reserved": torch.cuda.max_memory_reserved(device)}
