"""The result of one comparison run: everything the views, the CLI and the benchmarks read."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .params import PipelineParams


@dataclass
class PromptInfo:
    """One tokenized prompt. `document_span` is the [start, end) token range of the document."""

    text: str
    token_ids: list[int]
    tokens: list[str]
    document_span: tuple[int, int]

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)


@dataclass
class TokenProb:
    token: str
    token_id: int
    prob: float


@dataclass
class RunResult:
    """One SemShareKV run beside the full-prefill baseline on the same target.

    Arrays indexed by (layer, target token) have shape (n_layers, n_target_tokens).
    KV deviations are relative: ||K - K_true|| + ||V - V_true|| over ||K_true|| + ||V_true||,
    where the true cache is the full prefill's.
    """

    model_name: str
    device: str
    dtype: str
    params: PipelineParams
    reference: PromptInfo
    target: PromptInfo
    n_layers: int

    # Matching
    similarity: float
    lexical_similarity: float
    reused: bool
    fallback_reason: str | None
    mapping: np.ndarray              # (T,) reference position matched to each target token
    match_distance: np.ndarray       # (T,) mean Hamming distance of each match, in bits

    # Recompute and retention
    recomputed: np.ndarray           # (L, T) bool: K/V computed from the token's own hidden state
    retained: np.ndarray             # (L, T) bool: kept in the cache after prefill
    hd_tokens: np.ndarray            # target positions ranked high-deviation at layer 0
    kv_deviation_before: np.ndarray  # (L, T) rearranged reference cache against the true cache
    kv_deviation_after: np.ndarray   # (L, T) cache after recompute, before eviction, against the true cache
    attention_deviation: np.ndarray  # (L,) total variation distance of the last token's attention

    # Outputs
    output_full: str
    output_semshare: str
    output_tokens_full: list[str]
    output_tokens_semshare: list[str]
    first_token_probs_full: list[TokenProb]
    first_token_probs_semshare: list[TokenProb]
    max_abs_logit_diff: float
    first_token_agree: bool
    rouge_l_outputs: float

    # Time, in seconds
    prefill_seconds_full: float
    prefill_seconds_semshare: float
    reference_prefill_seconds: float
    phase_seconds: dict[str, float]
    decode_seconds_full: float
    decode_seconds_semshare: float

    # Memory, in bytes
    kv_bytes_per_layer_full: np.ndarray       # (L,)
    kv_bytes_per_layer_semshare: np.ndarray   # (L,)
    peak_rss_bytes: int                       # peak resident memory of the process during the run
    cuda_memory: dict[str, int] | None = None
    extras: dict = field(default_factory=dict)

    @property
    def n_reference_tokens(self) -> int:
        return self.reference.n_tokens

    @property
    def n_target_tokens(self) -> int:
        return self.target.n_tokens

    @property
    def recompute_fraction(self) -> float:
        return float(self.recomputed.mean())

    @property
    def attention_work_fraction(self) -> float:
        """Share of the full prefill's attention work spent on recomputed tokens.

        A query at position p reads p + 1 keys, so a late token costs more attention than
        an early one. The count covers the tokens whose q/k/v each layer computes.
        """
        keys_read = np.arange(1, self.recomputed.shape[1] + 1)
        return float((self.recomputed * keys_read).sum() / (keys_read.sum() * self.recomputed.shape[0]))

    @property
    def retained_fraction(self) -> float:
        return float(self.retained.mean())

    @property
    def kv_bytes_full(self) -> int:
        return int(self.kv_bytes_per_layer_full.sum())

    @property
    def kv_bytes_semshare(self) -> int:
        return int(self.kv_bytes_per_layer_semshare.sum())

    @property
    def speedup(self) -> float:
        return self.prefill_seconds_full / max(self.prefill_seconds_semshare, 1e-9)

    @property
    def ideal_speedup(self) -> float:
        return 1.0 / max(self.recompute_fraction, 1e-9)

    def summary(self) -> dict:
        """Return the flat JSON summary that the command line writes."""
        return {
            "model": self.model_name,
            "device": self.device,
            "dtype": self.dtype,
            "n_reference_tokens": self.n_reference_tokens,
            "n_target_tokens": self.n_target_tokens,
            "similarity": self.similarity,
            "lexical_similarity": self.lexical_similarity,
            "reused": self.reused,
            "fallback_reason": self.fallback_reason,
            "recompute_fraction": self.recompute_fraction,
            "retained_fraction": self.retained_fraction,
            "prefill_seconds_full": self.prefill_seconds_full,
            "prefill_seconds_semshare": self.prefill_seconds_semshare,
            "reference_prefill_seconds": self.reference_prefill_seconds,
            "speedup": self.speedup,
            "ideal_speedup": self.ideal_speedup,
            "phase_seconds": dict(self.phase_seconds),
            "kv_bytes_full": self.kv_bytes_full,
            "kv_bytes_semshare": self.kv_bytes_semshare,
            "output_full": self.output_full,
            "output_semshare": self.output_semshare,
            "rouge_l_outputs": self.rouge_l_outputs,
            "first_token_agree": self.first_token_agree,
            "max_abs_logit_diff": self.max_abs_logit_diff,
            "peak_rss_bytes": self.peak_rss_bytes,
            "cuda_memory": self.cuda_memory,
            "params": self.params.to_dict(),
            **self.extras,
        }
