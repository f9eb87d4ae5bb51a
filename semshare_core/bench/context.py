"""Shared state of the benchmark parts: the model, the data, the options and a progress callback."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..model import ModelBundle
from ..params import PipelineParams
from ..pipeline import compare
from ..result import RunResult
from .metrics import pair_metrics
from .pairs import Pair

logger = logging.getLogger(__name__)


@dataclass
class BenchOptions:
    """Sizes of the suite; the defaults are the suite that `make bench` runs."""

    pairs: int = 3
    controlled_lengths: tuple[int, ...] = (2000, 4000)
    shares: tuple[float, ...] = (0.1, 0.3, 0.5, 0.9)
    meeting_lengths: tuple[int, ...] = (1000, 2000, 4000)
    sweep_lengths: tuple[int, ...] = (500, 1000, 2000, 4000, 6000)
    ablation_length: int = 2000
    ablation_pairs: tuple[str, ...] = ("controlled", "meeting")
    compression_length: int = 4000
    observation_length: int = 2000
    frontier_length: int = 4000
    continuation_tokens: int = 64
    max_new_tokens: int = 8
    summary_tokens: int = 48
    repeats: int = 1
    bible_chapters: tuple[tuple[str, tuple[int, ...]], ...] = (("Matthew", (5, 6)), ("John", (14, 15)))


@dataclass
class BenchContext:
    bundle: ModelBundle
    data: Path
    options: BenchOptions
    params: PipelineParams
    progress: Callable[[str], None] = field(default=lambda message: None)
    last_result: RunResult | None = None

    def count_tokens(self, text: str) -> int:
        return len(self.bundle.tokenizer.encode(text, add_special_tokens=False))

    def trim_continuation(self, text: str) -> str:
        """Cut the continuation to `continuation_tokens` tokens."""
        ids = self.bundle.tokenizer.encode(text, add_special_tokens=False)[:self.options.continuation_tokens]
        return self.bundle.tokenizer.decode(ids)

    def run(self, pair: Pair, params: PipelineParams | None = None, **labels) -> dict:
        """Compare on a document-last prompt and score the pair's continuation; return the metrics row."""
        params = (params or self.params).replace(max_new_tokens=self.options.max_new_tokens)
        result = compare(self.bundle, pair.reference, pair.target, params,
                         continuation=self.trim_continuation(pair.continuation),
                         timing_repeats=self.options.repeats)
        return self._row(result, pair, labels)

    def run_summary(self, pair: Pair, instruction: str, params: PipelineParams | None = None, **labels) -> dict:
        """Compare on the chat-template prompt with `instruction`, for ROUGE-L against a gold summary."""
        params = (params or self.params).replace(max_new_tokens=self.options.summary_tokens)
        result = compare(self.bundle, pair.reference, pair.target, params, instruction=instruction,
                         timing_repeats=self.options.repeats)
        return self._row(result, pair, labels)

    def _row(self, result: RunResult, pair: Pair, labels: dict) -> dict:
        self.last_result = result
        row = {**labels, **pair_metrics(result, pair)}
        self.progress(progress_line(row))
        return row


def progress_line(row: dict) -> str:
    """Format one run as a line: the pair, its size, the speedup and the quality figures."""
    text = (f"{row['pair']} [{row.get('setting', '')}] T={row['n_target_tokens']} R={row['n_reference_tokens']}: "
            f"full {row['prefill_seconds_full']:.2f} s, SemShareKV {row['prefill_seconds_semshare']:.2f} s, "
            f"speedup {row['speedup']:.2f}x (ideal {row['ideal_speedup']:.2f}x), "
            f"matching {row['matching_share']:.1%}, KL {row['first_step_kl']:.3f}, "
            f"first token {'agrees' if row['first_token_agree'] else 'differs'}")
    if "perplexity_full" in row:
        text += f", perplexity {row['perplexity_full']:.2f} -> {row['perplexity_semshare']:.2f}"
    if "rouge_l_gold_full" in row:
        text += f", ROUGE-L vs gold {row['rouge_l_gold_full']:.3f} -> {row['rouge_l_gold_semshare']:.3f}"
    return text
