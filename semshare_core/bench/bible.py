"""Two New Testament translations (Noyes 1869, Twenty 1904); verse numbers align them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .pairs import DataNotFoundError, Pair, require

TRANSLATIONS = ("Noyes", "Twenty")
_VERSE = re.compile(r"^\[(\d+):(\d+)\]\s*(.*)$")


@dataclass(frozen=True)
class Verse:
    chapter: int
    verse: int
    text: str

    @property
    def key(self) -> str:
        return f"{self.chapter}:{self.verse}"


@dataclass
class VerseDocument:
    """Verses joined into one text, with each verse's [start, end) characters in it."""

    text: str
    keys: list[str]
    spans: list[tuple[int, int]]


@lru_cache(maxsize=2)
def load_translation(data: Path, translation: str) -> dict[str, tuple[Verse, ...]]:
    """Parse `### Book` headings and `[chapter:verse] text` lines; empty verses are dropped."""
    # The files exceed textio's size limit for user input; they are UTF-8.
    path = require(data / "bible" / f"{translation}.txt")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataNotFoundError(f"{path} is not UTF-8 text: {error}") from error
    books: dict[str, list[Verse]] = {}
    book = None
    for line in text.splitlines():
        if line.startswith("### "):
            book = line[4:].strip()
            books[book] = []
            continue
        match = _VERSE.match(line.strip())
        if match and book is not None and match.group(3).strip():
            books[book].append(Verse(int(match.group(1)), int(match.group(2)), match.group(3).strip()))
    return {name: tuple(verses) for name, verses in books.items()}


def chapter_verses(data: Path, translation: str, book: str, chapters: list[int]) -> list[Verse]:
    books = load_translation(data, translation)
    if book not in books:
        raise DataNotFoundError(f"Book {book!r} not found in {translation}.txt")
    verses = [v for v in books[book] if v.chapter in chapters]
    if not verses:
        raise DataNotFoundError(f"{book} chapters {chapters} are empty in {translation}.txt")
    return verses


def join_verses(verses: list[Verse]) -> VerseDocument:
    """Join verses with spaces, and chapters with a blank line; verse numbers are left out."""
    parts, keys, spans, at = [], [], [], 0
    for index, verse in enumerate(verses):
        separator = "" if index == 0 else ("\n\n" if verse.chapter != verses[index - 1].chapter else " ")
        at += len(separator)
        parts.append(separator + verse.text)
        keys.append(verse.key)
        spans.append((at, at + len(verse.text)))
        at += len(verse.text)
    return VerseDocument("".join(parts), keys, spans)


def bible_pair(data: Path, book: str, chapters: list[int], continuation_verses: int = 3) -> tuple[Pair, VerseDocument, VerseDocument]:
    """Noyes as reference, Twenty as target, over the verses both translations have.

    The last `continuation_verses` verses are cut from both; the Twenty text of them is
    the continuation. Returns the pair and both verse documents, for matching accuracy.
    """
    noyes = {v.key: v for v in chapter_verses(data, "Noyes", book, chapters)}
    twenty = chapter_verses(data, "Twenty", book, chapters)
    shared = [v for v in twenty if v.key in noyes]
    kept, held_out = shared[:-continuation_verses], shared[-continuation_verses:]
    reference = join_verses([noyes[v.key] for v in kept])
    target = join_verses(kept)
    pair = Pair(
        name=f"bible-{book}-{'-'.join(map(str, chapters))}",
        reference=reference.text, target=target.text,
        continuation=" " + " ".join(v.text for v in held_out),
        meta={"book": book, "chapters": chapters, "verses": len(kept)})
    return pair, reference, target
