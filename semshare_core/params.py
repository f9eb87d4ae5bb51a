"""Pipeline parameters: every choice the SemShareKV method leaves open, with defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import InvalidParameterError

REUSE_MODES = ("fuzzy", "zeros", "random")
RECOMPUTE_SIGNALS = ("deviation", "random", "mismatch")


@dataclass(frozen=True)
class PipelineParams:
    """Parameters of one SemShareKV run.

    Each field has a `help` entry in its metadata, used by the command line and the app.
    """

    # Matching (E cache, RoPE on embeddings, LSH)
    rope_in_matching: bool = field(default=False, metadata={
        "help": "Rotate the token embeddings with RoPE at their own positions before hashing, "
                "so that matching prefers reference tokens at nearby positions. Off by default: "
                "on OneStopEnglish pairs it matched the same token far less often (see docs/method-choices.md); "
                "ties are broken towards the same relative position either way."})
    matching_rope_base: float = field(default=10000.0, metadata={
        "help": "RoPE base used to rotate the embeddings for matching (not the model's own base)."})
    lsh_bits: int = field(default=128, metadata={
        "help": "Random hyperplanes (signature bits) per LSH table."})
    lsh_tables: int = field(default=1, metadata={
        "help": "Independent LSH tables; the token distance is the mean Hamming distance over tables."})
    lsh_seed: int = field(default=0, metadata={
        "help": "Seed of the random hyperplanes."})
    d_max_fraction: float = field(default=0.5, metadata={
        "help": "d_max of the similarity clip(1 - d/d_max, 0, 1), as a fraction of the bits per table. "
                "d is the mean nearest-neighbour Hamming distance over the target's document tokens. "
                "The default 0.5 puts d_max at the expected distance of two unrelated vectors."})
    similarity_window: int = field(default=512, metadata={
        "help": "Reference tokens, around each target token's relative position, searched when "
                "computing the prompt similarity (not the token mapping)."})
    similarity_threshold: float = field(default=0.8, metadata={
        "help": "Reuse the reference cache only at or above this prompt similarity (0-1); "
                "below it the run falls back to a full prefill."})

    # Rearrangement
    rerotate_keys: bool = field(default=True, metadata={
        "help": "Re-rotate each reused key from its reference position to its target position."})
    reuse_mode: str = field(default="fuzzy", metadata={
        "help": "What fills the cache of tokens that are not recomputed: 'fuzzy' is the matched "
                "reference K/V; 'zeros' and 'random' (Gaussian with each layer's reference mean "
                "and standard deviation) are ablations that show how much the matched K/V carries."})

    # Selective recompute
    recompute_mismatched: bool = field(default=False, metadata={
        "help": "Recompute, at every layer, each target token unless it and the token before it "
                "match identical tokens at consecutive reference positions, so that only tokens inside "
                "copied spans keep reused K/V (CacheBlend-style reuse). The recompute set grows "
                "beyond its budget where these tokens need it."})
    hd_fraction: float = field(default=0.4, metadata={
        "help": "Share of target tokens, ranked by K/V deviation at layer 0, that are "
                "recomputed at layer 1 (high-deviation tokens)."})
    adaptive_hd: bool = field(default=True, metadata={
        "help": "Lower the share recomputed at layer 1 to the share of target tokens outside spans "
                "copied from the reference, but not below hd_min_fraction; hd_fraction is then the "
                "upper limit. Near-copies recompute little, different texts up to hd_fraction."})
    hd_min_fraction: float = field(default=0.1, metadata={
        "help": "Lowest share recomputed at layer 1 when adaptive_hd lowers it."})
    recompute_decay: float = field(default=0.95, metadata={
        "help": "Factor by which the recompute set shrinks at each layer after layer 1."})
    recompute_signal: str = field(default="deviation", metadata={
        "help": "What ranks the tokens to recompute: 'deviation' is the K/V deviation (weighted by "
                "attention after layer 0); 'mismatch' ranks tokens outside spans copied from the "
                "reference first, then by deviation; 'random' ignores both (an ablation)."})
    hot_weight: float = field(default=0.5, metadata={
        "help": "Weight of a hot token's deviation when ranking recompute candidates."})
    cold_weight: float = field(default=0.1, metadata={
        "help": "Weight of a cold token's deviation when ranking recompute candidates."})
    hot_mass: float = field(default=0.55, metadata={
        "help": "Hot tokens are the fewest tokens holding this share of the attention mass "
                "that the last tokens give (attention recovery threshold)."})
    tail_tokens: int = field(default=8, metadata={
        "help": "Last target tokens recomputed at every layer and never evicted; "
                "their attention helps rank tokens for recompute and retention."})
    observation_queries: int = field(default=0, metadata={
        "help": "Active tokens, spread over the prompt, whose attention (with the tail's) ranks "
                "tokens as hot for recompute and for retention; 0 uses the tail alone."})
    recompute_all: bool = field(default=False, metadata={
        "help": "Recompute every token at every layer (the engine then reproduces a full prefill)."})

    # Retention
    retention: bool = field(default=True, metadata={
        "help": "Evict low-attention tokens from each layer's cache after prefill."})
    retain_first: float = field(default=1.0, metadata={
        "help": "Share of tokens layer 0 keeps."})
    retain_decay: float = field(default=0.958, metadata={
        "help": "Factor by which the kept share shrinks at each deeper layer."})
    retain_pooling: int = field(default=7, metadata={
        "help": "Retention ranks a token by the mean attention received by the tokens within "
                "this window around it (SnapKV's pooling), so kept tokens form spans instead "
                "of scattered single tokens; 1 ranks each token alone. Odd."})
    retain_min_tokens: int = field(default=32, metadata={
        "help": "Fewest tokens any layer keeps."})
    retain_growing: bool = field(default=False, metadata={
        "help": "Run the retention schedule backwards over depth: layer i keeps what layer "
                "L-1-i would keep, so the kept share grows with depth at the same total "
                "(an ablation of the decaying schedule)."})

    # Decoding
    max_new_tokens: int = field(default=48, metadata={
        "help": "Tokens to generate after the prompt."})
    do_sample: bool = field(default=False, metadata={
        "help": "Sample instead of greedy decoding."})
    temperature: float = field(default=0.7, metadata={
        "help": "Sampling temperature (used only when sampling)."})
    top_p: float = field(default=0.9, metadata={
        "help": "Nucleus sampling mass (used only when sampling)."})
    sample_seed: int = field(default=0, metadata={
        "help": "Seed of the sampler; both caches decode with the same seed."})

    def __post_init__(self) -> None:
        self._check_types()
        checks = [
            (self.lsh_bits >= 8, "lsh_bits must be at least 8"),
            (self.lsh_tables >= 1, "lsh_tables must be at least 1"),
            (0.0 < self.d_max_fraction <= 1.0, "d_max_fraction must be in (0, 1]"),
            (self.similarity_window >= 8, "similarity_window must be at least 8"),
            (0.0 <= self.similarity_threshold <= 1.0, "similarity_threshold must be in [0, 1]"),
            (0.0 <= self.hd_fraction <= 1.0, "hd_fraction must be in [0, 1]"),
            (0.0 <= self.hd_min_fraction <= 1.0, "hd_min_fraction must be in [0, 1]"),
            (0.0 < self.recompute_decay <= 1.0, "recompute_decay must be in (0, 1]"),
            (self.hot_weight >= 0 and self.cold_weight >= 0, "hot_weight and cold_weight must be >= 0"),
            (0.0 < self.hot_mass <= 1.0, "hot_mass must be in (0, 1]"),
            (self.tail_tokens >= 1, "tail_tokens must be at least 1"),
            (self.observation_queries >= 0, "observation_queries must be >= 0"),
            (0.0 < self.retain_first <= 1.0, "retain_first must be in (0, 1]"),
            (0.0 < self.retain_decay <= 1.0, "retain_decay must be in (0, 1]"),
            (self.retain_pooling >= 1 and self.retain_pooling % 2 == 1, "retain_pooling must be a positive odd number"),
            (self.retain_min_tokens >= 1, "retain_min_tokens must be at least 1"),
            (0 <= self.max_new_tokens <= 4096, "max_new_tokens must be in [0, 4096]"),
            (self.temperature > 0, "temperature must be > 0"),
            (0.0 < self.top_p <= 1.0, "top_p must be in (0, 1]"),
            (self.matching_rope_base > 1.0, "matching_rope_base must be > 1"),
            (self.reuse_mode in REUSE_MODES, f"reuse_mode must be one of {', '.join(REUSE_MODES)}"),
            (self.recompute_signal in RECOMPUTE_SIGNALS,
             f"recompute_signal must be one of {', '.join(RECOMPUTE_SIGNALS)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InvalidParameterError(message)

    def _check_types(self) -> None:
        # Annotations are strings here (postponed evaluation), so compare by name.
        accepted = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            kinds = accepted.get(str(item.type), (object,))
            wrong_bool = isinstance(value, bool) and item.type != "bool"
            if wrong_bool or not isinstance(value, kinds):
                raise InvalidParameterError(
                    f"{item.name} must be of type {item.type}, got {value!r} ({type(value).__name__}).")

    def replace(self, **changes) -> "PipelineParams":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "PipelineParams":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InvalidParameterError(f"unknown parameters: {sorted(unknown)}")
        return cls(**values)

    @classmethod
    def help_texts(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
