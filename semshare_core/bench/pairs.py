"""The benchmark's unit of work (a reference/target pair) and the location of the data."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import SemShareError

# The shared corpora live beside the project, not in it.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"

TokenCounter = Callable[[str], int]


class DataNotFoundError(SemShareError, FileNotFoundError):
    """A corpus folder or file of the benchmark data is missing."""


@dataclass
class Pair:
    """A reference document, a target document and what follows the target.

    `continuation` is text that follows `target` directly and that `reference` does not
    contain, so that its perplexity measures the target's cache, not a leak from the
    reference. `gold_summary` is a human summary of the target, when the corpus has one.
    """

    name: str
    reference: str
    target: str
    continuation: str = ""
    gold_summary: str | None = None
    meta: dict = field(default_factory=dict)


def leading_cut(pieces: list[str], length_tokens: int, count_tokens: TokenCounter) -> int:
    """Return the fewest leading pieces (paragraphs, utterances) with at least `length_tokens` tokens.

    One piece is always left after them, for the continuation. Each piece counts one
    token more for the newline that joins it to the next.
    """
    total = 0
    for index, piece in enumerate(pieces):
        total += count_tokens(piece) + 1
        if total >= length_tokens:
            return min(index + 1, len(pieces) - 1)
    return len(pieces) - 1


def data_dir(path: Path | str | None = None) -> Path:
    """Return the data folder, or raise DataNotFoundError with where to get the corpora."""
    folder = Path(path) if path is not None else DEFAULT_DATA_DIR
    if not folder.is_dir():
        raise DataNotFoundError(
            f"Benchmark data folder not found: {folder}. It must hold onestopenglish/, qmsum-ami/ "
            "and bible/ (see the data README); pass another folder with --data.")
    return folder


def require(path: Path) -> Path:
    if not path.exists():
        raise DataNotFoundError(f"Benchmark data file or folder not found: {path}")
    return path


def word_count_tokens(text: str) -> int:
    """Estimate the token count of English text from its words (about 1.35 tokens a word)."""
    return int(round(1.35 * len(text.split())))


def normalise(text: str) -> str:
    """Lower-case letters and digits only, for comparing sentences whose punctuation differs."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def normalised_index(text: str) -> tuple[str, list[int]]:
    """Return normalise(text) and, for each of its characters, the index in `text`."""
    kept = [(i, ch.lower()) for i, ch in enumerate(text) if ch.isascii() and ch.isalnum()]
    return "".join(ch for _, ch in kept), [i for i, _ in kept]
