"""Checks of the operator limits: allowed models, memory estimate, prompt tokens, run time.

The app calls these before and during a run. `compare` itself never applies them.
"""

from __future__ import annotations

import fnmatch
import os
import re
import time
from dataclasses import dataclass
from typing import Callable

from transformers import AutoConfig

from .errors import MemoryBudgetError, ModelNotAllowedError, PromptTooLongError, RunTimeoutError
from .model import EMBEDDED_MODEL_ID, check_supported, default_dtype, pick_device
from .settings import OperatorSettings

MIB = 1024 ** 2
# Memory of the process besides weights and run arrays: Python, PyTorch, the tokenizer and
# allocator slack. NOTE: measured, not derived. With PyTorch 2.13 on the CPU, peak RSS of
# SmolLM2-135M runs at 600 and 1,740 target tokens was 0.6 GiB above the other terms.
RUNTIME_BYTES = 600 * MIB
# A hub id is "name" or "owner/name" with letters, digits, '-', '_' and '.'.
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def is_embedded(name: str | None) -> bool:
    return name in (None, "", EMBEDDED_MODEL_ID)


def is_local_path(name: str) -> bool:
    """Return whether `name` would load from disk: an existing path, or anything but a hub id.

    transformers loads an existing folder before trying the hub, so "owner/name" counts
    as local when such a folder exists relative to the working directory.
    """
    if os.path.exists(os.path.expanduser(name)):
        return True
    return name.startswith(("/", ".", "~")) or not _HUB_ID.match(name)


def check_model_allowed(name: str | None, settings: OperatorSettings) -> None:
    """Raise ModelNotAllowedError unless the settings allow loading `name`."""
    if is_local_path(name or EMBEDDED_MODEL_ID) and not is_embedded(name) and not settings.allow_local_models:
        raise ModelNotAllowedError(
            f"Local model folders are not allowed on this server, so {name!r} was not loaded. "
            f"Allowed: {describe_allowed(settings)}. The operator can set "
            "SEMSHARE_ALLOW_LOCAL_MODELS=1 to allow local folders.")
    if settings.allowed_models is None:
        return
    candidate = EMBEDDED_MODEL_ID if is_embedded(name) else name
    aliases = {candidate, "embedded"} if is_embedded(name) else {candidate}
    if any(fnmatch.fnmatchcase(alias, pattern) for alias in aliases for pattern in settings.allowed_models):
        return
    raise ModelNotAllowedError(f"Model {candidate!r} is not allowed on this server. "
                               f"Allowed: {describe_allowed(settings)}.")


def describe_allowed(settings: OperatorSettings) -> str:
    if settings.allowed_models is None:
        allowed = "the embedded model and any hub id"
    else:
        allowed = ", ".join(settings.allowed_models)
    if settings.allow_local_models:
        allowed += ", and local folders"
    return allowed


def check_prompt_tokens(n_tokens: int, settings: OperatorSettings, label: str) -> None:
    """Raise PromptTooLongError when a prompt has more tokens than the operator allows."""
    limit = settings.max_prompt_tokens
    if limit and n_tokens > limit:
        raise PromptTooLongError(
            f"The {label} prompt has {n_tokens:,} tokens, but this server allows at most {limit:,} "
            "tokens per prompt. Shorten the text or truncate the documents in the sidebar.",
            n_tokens, limit)


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated bytes held at the peak of one run, by part."""

    weights: int
    caches: int        # the reference cache and the target's caches (full, SemShareKV, trace, decode)
    activations: int   # hidden states kept for the views and one layer's attention scores
    views: int         # per-layer arrays in the result: masks, deviations, attention received
    runtime: int = RUNTIME_BYTES

    @property
    def total(self) -> int:
        return self.weights + self.caches + self.activations + self.views + self.runtime

    def describe(self) -> str:
        return (f"{self.total / MIB:,.0f} MiB (weights {self.weights / MIB:,.0f}, "
                f"KV caches {self.caches / MIB:,.0f}, activations {self.activations / MIB:,.0f}, "
                f"view arrays {self.views / MIB:,.0f}, runtime {self.runtime / MIB:,.0f})")


def estimate_run_memory(config, weight_bytes: int, dtype_bytes: int, n_reference: int, n_target: int,
                        max_new_tokens: int) -> MemoryEstimate:
    """Estimate the peak memory of one `compare` run from the model config and token counts.

    NOTE: an estimate. The attention term assumes one layer's full score matrix
    (heads × T × T float32), an upper bound when PyTorch uses a fused kernel, and
    allocator overhead and the Python process itself are not counted.
    """
    layers = config.num_hidden_layers
    heads = config.num_attention_heads
    hidden = config.hidden_size
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    kv_per_token = 2 * layers * kv_heads * head_dim * dtype_bytes

    # Alive at once: the reference cache, and four target-length caches: the warm-up and
    # timed full prefills, the SemShareKV cache and its pre-eviction copy in the trace.
    caches = kv_per_token * (n_reference + 4 * (n_target + max_new_tokens))
    hidden_states = (layers + 1) * n_target * hidden * dtype_bytes
    attention_scores = heads * n_target * n_target * 4
    masks = 2 * layers * n_target                 # recomputed and retained, bool
    float_maps = 3 * layers * n_target * 4        # deviation before and after, attention received
    return MemoryEstimate(weights=weight_bytes, caches=caches, activations=hidden_states + attention_scores,
                          views=masks + float_maps)


def estimate_for_bundle(bundle, n_reference: int, n_target: int, max_new_tokens: int) -> MemoryEstimate:
    """Estimate a run's memory with the loaded model's real weight size."""
    weight_bytes = sum(tensor.numel() * tensor.element_size()
                       for tensor in [*bundle.model.parameters(), *bundle.model.buffers()])
    dtype_bytes = next(bundle.model.parameters()).element_size()
    return estimate_run_memory(bundle.config, weight_bytes, dtype_bytes, n_reference, n_target, max_new_tokens)


def estimate_weight_bytes(config, dtype_bytes: int) -> int:
    """Estimate the weight bytes of a Llama-block model from its config, before loading it."""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    mlp = 3 * hidden * config.intermediate_size
    embeddings = config.vocab_size * hidden * (1 if getattr(config, "tie_word_embeddings", False) else 2)
    return (embeddings + layers * (attention + mlp + 2 * hidden) + hidden) * dtype_bytes


def check_weights_fit(name_or_path: str, device: str, settings: OperatorSettings) -> None:
    """Raise MemoryBudgetError when a model's weights alone exceed the budget, without loading them.

    Reads only the model's config (from the folder or the hub cache). Without a readable
    config it returns, so that `load_model` reports what is missing in its own words.
    """
    budget = settings.memory_budget_bytes
    if not budget:
        return
    try:
        config = AutoConfig.from_pretrained(name_or_path, trust_remote_code=False)
    except (OSError, ValueError):
        return
    check_supported(config)
    dtype_bytes = default_dtype(pick_device(device)).itemsize
    weights = estimate_weight_bytes(config, dtype_bytes)
    if weights > budget:
        raise MemoryBudgetError(
            f"The weights of {name_or_path!r} need an estimated {weights / MIB:,.0f} MiB, above this "
            f"server's memory budget of {budget / MIB:,.0f} MiB. Pick a smaller model.", weights, budget)


def check_memory(estimate: MemoryEstimate, settings: OperatorSettings) -> None:
    """Raise MemoryBudgetError when the estimate exceeds the operator's budget."""
    budget = settings.memory_budget_bytes
    if budget and estimate.total > budget:
        raise MemoryBudgetError(
            f"This run needs an estimated {estimate.describe()}, above this server's budget of "
            f"{budget / MIB:,.0f} MiB. Shorten or truncate the prompts, or pick a smaller model.",
            estimate.total, budget)


def deadline_progress(settings: OperatorSettings, progress: Callable[[str, float], None] | None = None,
                      clock: Callable[[], float] = time.monotonic) -> Callable[[str, float], None]:
    """Wrap a progress callback so that it raises RunTimeoutError once the time limit has passed.

    The pipeline calls `progress` between phases, so a run stops at the first phase
    boundary after the limit, not in the middle of a phase. The final report (fraction 1)
    never raises, because the result is complete by then.
    """
    started = clock()
    limit = settings.time_limit_s

    def report(phase: str, fraction: float) -> None:
        elapsed = clock() - started
        if limit and elapsed > limit and fraction < 1.0:
            raise RunTimeoutError(
                f"The run timed out: it took {elapsed:.1f} s, past this server's limit of {limit:g} s, "
                f"before the phase '{phase}'. Shorten or truncate the prompts, or lower max new tokens.",
                elapsed, limit)
        if progress is not None:
            progress(phase, fraction)

    return report
