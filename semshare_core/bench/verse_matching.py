"""Bible matching accuracy: the share of target tokens matched into the aligned verse."""

from __future__ import annotations

import bisect

import numpy as np

from ..matching import match_prompts
from ..model import ModelBundle
from ..params import PipelineParams
from ..prompts import build_prompt
from .bible import VerseDocument


def token_verses(bundle: ModelBundle, document: VerseDocument) -> list[str | None]:
    """Return the verse of each document token, by its last character, or None between verses."""
    encoded = bundle.tokenizer(document.text, add_special_tokens=False, return_offsets_mapping=True)
    starts = [start for start, _ in document.spans]
    verses = []
    for start, end in encoded["offset_mapping"]:
        at = max(end - 1, start)
        index = bisect.bisect_right(starts, at) - 1
        inside = index >= 0 and document.spans[index][0] <= at < document.spans[index][1]
        verses.append(document.keys[index] if inside else None)
    return verses


def verse_accuracy(bundle: ModelBundle, reference: VerseDocument, target: VerseDocument,
                   params: PipelineParams) -> dict:
    """Match the two documents as compare() would and score the mapping against the verse numbers.

    Also scores a mapping by relative position alone, the accuracy that needs no
    content at all.
    """
    reference_prompt = build_prompt(bundle, reference.text, document_last=True)
    target_prompt = build_prompt(bundle, target.text, document_last=True)
    reference_verses = token_verses(bundle, reference)
    target_verses = token_verses(bundle, target)
    ref_start, ref_end = reference_prompt.document_span
    start, end = target_prompt.document_span
    if end - start != len(target_verses) or ref_end - ref_start != len(reference_verses):
        raise ValueError("the prompt's document tokens differ from the tokenized verses")

    match = match_prompts(bundle.model, reference_prompt.token_ids, target_prompt.token_ids,
                          target_prompt.document_span, params)
    mapping = match.mapping.cpu().numpy()[start:end] - ref_start
    positional = np.round((np.arange(end - start) + 0.5) * len(reference_verses) / len(target_verses) - 0.5)
    return {
        "accuracy": _score(mapping, reference_verses, target_verses),
        "positional_accuracy": _score(positional.astype(int), reference_verses, target_verses),
        "same_token_share": float(np.mean([
            reference_prompt.token_ids[ref_start + m] == target_prompt.token_ids[start + t]
            if 0 <= m < len(reference_verses) else False for t, m in enumerate(mapping)])),
        "n_target_tokens": end - start,
    }


def _score(mapping: np.ndarray, reference_verses: list, target_verses: list) -> float:
    hits = total = 0
    for t, verse in enumerate(target_verses):
        if verse is None:
            continue
        total += 1
        m = int(mapping[t])
        hits += 0 <= m < len(reference_verses) and reference_verses[m] == verse
    return hits / max(total, 1)
