"""OneStopEnglish: one news story at three reading levels, and sentence alignments between levels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..textio import read_text_file
from .pairs import normalise, normalised_index, require

LEVELS = {"adv": "Adv-Txt", "int": "Int-Txt", "ele": "Ele-Txt"}
ALIGNMENT_FILES = {"int": "ADV-INT.txt", "ele": "ADV-ELE.txt"}


@dataclass(frozen=True)
class AlignedSentence:
    """One sentence at the Advanced level and its rewrite at a lower level."""

    advanced: str
    rewrite: str


@dataclass(frozen=True)
class Located:
    """An aligned sentence found in a story: paragraph index and [start, end) characters in it."""

    paragraph: int
    start: int
    end: int
    rewrite: str


def story_names(data: Path) -> list[str]:
    """Names of the stories present at all three levels, sorted."""
    names = []
    for path in sorted(require(data / "onestopenglish" / LEVELS["adv"]).glob("*-adv.txt")):
        name = path.name[:-len("-adv.txt")]
        if all(story_path(data, name, level).is_file() for level in ("int", "ele")):
            names.append(name)
    return names


def story_path(data: Path, name: str, level: str) -> Path:
    return data / "onestopenglish" / LEVELS[level] / f"{name}-{level}.txt"


def story_paragraphs(data: Path, name: str, level: str) -> list[str]:
    """Read a story's non-empty lines, one paragraph each; decode_text handles the BOM and cp1252."""
    text = read_text_file(require(story_path(data, name, level)))
    return [line.strip() for line in text.splitlines() if line.strip()]


@lru_cache(maxsize=4)
def aligned_sentences(data: Path, level: str) -> tuple[AlignedSentence, ...]:
    """Sentence pairs of Sentence-Aligned/ADV-INT.txt or ADV-ELE.txt (blocks split by *******)."""
    path = require(data / "onestopenglish" / "Sentence-Aligned" / ALIGNMENT_FILES[level])
    pairs = []
    for block in read_text_file(path).split("*******"):
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if len(lines) == 2:
            pairs.append(AlignedSentence(lines[0], lines[1]))
    return tuple(pairs)


def locate_sentences(paragraphs: list[str], sentences, side: str = "advanced") -> list[Located]:
    """Find aligned sentences in the paragraphs by a normalised comparison.

    The aligned lines lack some punctuation (dashes, quotes), so both sides are reduced
    to letters and digits and the match is mapped back to the original characters. Each
    sentence is taken once, at its first occurrence; overlapping matches are dropped.
    """
    indexed = [normalised_index(paragraph) for paragraph in paragraphs]
    found: list[Located] = []
    matched_spans: dict[int, list[tuple[int, int]]] = {}
    for sentence in sentences:
        needle = normalise(getattr(sentence, side))
        if len(needle) < 8:
            continue
        for index, (norm, offsets) in enumerate(indexed):
            at = norm.find(needle)
            if at < 0:
                continue
            start, end = offsets[at], offsets[at + len(needle) - 1] + 1
            end = _past_final_stop(paragraphs[index], end)
            if any(start < b and a < end for a, b in matched_spans.get(index, [])):
                break
            matched_spans.setdefault(index, []).append((start, end))
            found.append(Located(index, start, end, sentence.rewrite))
            break
    return found


def _past_final_stop(text: str, end: int) -> int:
    """Extend a match over the full stops that the normalised comparison left out."""
    while end < len(text) and text[end] in ".!?":
        end += 1
    return end


def replace_sentences(paragraphs: list[str], chosen: list[Located]) -> list[str]:
    """Return the paragraphs with each chosen sentence replaced by its rewrite."""
    result = list(paragraphs)
    for item in sorted(chosen, key=lambda c: (c.paragraph, -c.start)):
        text = result[item.paragraph]
        result[item.paragraph] = text[:item.start] + item.rewrite + text[item.end:]
    return result


def rewritable_sentences(data: Path, name: str, level: str) -> tuple[list[str], list[Located]]:
    """Return the Advanced story's paragraphs and its aligned sentences whose rewrite differs."""
    paragraphs = story_paragraphs(data, name, "adv")
    differing = [s for s in aligned_sentences(data, level) if normalise(s.advanced) != normalise(s.rewrite)]
    return paragraphs, locate_sentences(paragraphs, differing)
