"""OneStopEnglish pairs: controlled sentence rewrites and whole-story rewrites."""

from __future__ import annotations

import random
from pathlib import Path

from .onestop import aligned_sentences, locate_sentences, replace_sentences, rewritable_sentences, story_names, story_paragraphs
from .pairs import Pair, TokenCounter, leading_cut, word_count_tokens

# Stories with fewer aligned sentences than this are skipped: the rewritten share would be too coarse.
MIN_ALIGNED_SENTENCES = 5


def controlled_pair(data: Path, first_story: int, share: float, length_tokens: int, level: str = "int",
                    continuation_tokens: int = 64, count_tokens: TokenCounter = word_count_tokens,
                    seed: int = 0) -> Pair:
    """Advanced stories as reference, the same text with `share` of its sentences rewritten as target.

    Stories are taken in name order from `first_story` on and concatenated until the
    reference has `length_tokens` tokens. The share counts the aligned sentences whose
    rewrite differs from the original. The paragraphs after the cut form the
    continuation and are removed from both documents.
    """
    rng = random.Random(f"{seed}-{first_story}-{share}")
    names = story_names(data)
    reference, target, used = [], [], []
    n_aligned = n_replaced = 0
    tokens = 0
    for offset in range(len(names)):
        name = names[(first_story + offset) % len(names)]
        paragraphs, located = rewritable_sentences(data, name, level)
        if len(located) < MIN_ALIGNED_SENTENCES:
            continue
        chosen = rng.sample(located, round(share * len(located)))
        rewritten = replace_sentences(paragraphs, chosen)
        n_aligned, n_replaced = n_aligned + len(located), n_replaced + len(chosen)
        used.append(name)
        if reference:  # a blank line between stories
            paragraphs, rewritten = ["", *paragraphs], ["", *rewritten]
        reference += paragraphs
        target += rewritten
        tokens += sum(count_tokens(p) + 1 for p in paragraphs)
        if tokens >= length_tokens + 2 * continuation_tokens:
            break

    cut = leading_cut(reference, length_tokens, count_tokens)
    return Pair(
        name=f"controlled-{level}-{int(round(share * 100))}-{length_tokens}-{first_story}",
        reference="\n".join(reference[:cut]).strip(),
        target="\n".join(target[:cut]).strip(),
        continuation=_continuation(target[cut:], continuation_tokens, count_tokens),
        meta={"stories": used, "share": share, "level": level, "aligned_sentences": n_aligned,
              "replaced_sentences": n_replaced})


def whole_pair(data: Path, name: str, level: str = "int", continuation_tokens: int = 64,
               count_tokens: TokenCounter = word_count_tokens) -> Pair:
    """The Advanced story as reference and its `level` rewrite as target.

    The target's last paragraphs (at least `continuation_tokens` tokens) are the
    continuation. The reference stops before the Advanced paragraph that holds the
    aligned original of the continuation's first paragraph, so it cannot leak it.
    """
    advanced = story_paragraphs(data, name, "adv")
    rewrite = story_paragraphs(data, name, level)
    cut = _tail_cut(rewrite, continuation_tokens, count_tokens)
    reference_cut, method = _reference_cut(data, advanced, rewrite, cut, level)
    return Pair(
        name=f"whole-{level}-{name}",
        reference="\n".join(advanced[:reference_cut]),
        target="\n".join(rewrite[:cut]),
        continuation=_continuation(rewrite[cut:], continuation_tokens, count_tokens),
        meta={"story": name, "level": level, "reference_cut": method,
              "paragraphs": [reference_cut, cut]})


def _tail_cut(paragraphs: list[str], continuation_tokens: int, count_tokens: TokenCounter) -> int:
    """Latest paragraph index whose tail holds at least `continuation_tokens` tokens (at least 1)."""
    total = 0
    for index in range(len(paragraphs) - 1, 0, -1):
        total += count_tokens(paragraphs[index]) + 1
        if total >= continuation_tokens:
            return index
    return 1


def _reference_cut(data: Path, advanced: list[str], rewrite: list[str], cut: int, level: str) -> tuple[int, str]:
    """Number of Advanced paragraphs that precede the original of rewrite paragraph `cut`."""
    in_rewrite = locate_sentences([rewrite[cut]], aligned_sentences(data, level), side="rewrite")
    originals = [s for s in aligned_sentences(data, level)
                 if any(s.rewrite == loc.rewrite for loc in in_rewrite)]
    located = locate_sentences(advanced, originals)
    if located:
        return max(1, min(loc.paragraph for loc in located)), "alignment"
    # Without an alignment, cut one paragraph earlier than the proportional position.
    return max(1, cut * len(advanced) // len(rewrite) - 1), "proportional"


def _continuation(paragraphs: list[str], continuation_tokens: int, count_tokens: TokenCounter) -> str:
    """Leading paragraphs until `continuation_tokens` tokens, with the newline that separates them."""
    kept, total = [], 0
    for paragraph in paragraphs:
        if not paragraph:
            continue
        kept.append(paragraph)
        total += count_tokens(paragraph) + 1
        if total >= continuation_tokens:
            break
    return "\n" + "\n".join(kept)


def long_whole_pair(data: Path, first_story: int, length_tokens: int, level: str = "int",
                    continuation_tokens: int = 64, count_tokens: TokenCounter = word_count_tokens) -> Pair:
    """Whole rewrites of several stories, concatenated to about `length_tokens` target tokens.

    Every story but the last is whole on both sides. The last is cut as `whole_pair`
    cuts it, so the continuation comes from its rewrite and the reference stops before
    the continuation's original.
    """
    names = story_names(data)
    references, targets, used, tokens = [], [], [], 0
    for offset in range(len(names)):
        name = names[(first_story + offset) % len(names)]
        rewrite = story_paragraphs(data, name, level)
        story_tokens = sum(count_tokens(p) + 1 for p in rewrite)
        if tokens + story_tokens >= length_tokens:
            last = whole_pair(data, name, level, continuation_tokens, count_tokens)
            used.append(name)
            return Pair(
                name=f"whole-{level}-{length_tokens}-{first_story}",
                reference="\n\n".join([*references, last.reference]),
                target="\n\n".join([*targets, last.target]),
                continuation=last.continuation,
                meta={"stories": used, "level": level})
        references.append("\n".join(story_paragraphs(data, name, "adv")))
        targets.append("\n".join(rewrite))
        used.append(name)
        tokens += story_tokens
    raise ValueError(f"The corpus has fewer than {length_tokens} tokens of '{level}' rewrites; "
                     "use a shorter length.")
