"""QMSum AMI meetings: transcripts of the same design meeting held by different teams."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .pairs import DataNotFoundError, Pair, TokenCounter, leading_cut, require, word_count_tokens

# Transcription markers such as {vocalsound}, {disfmarker} and {gap}.
_MARKER = re.compile(r"\{\w+\}")
# The transcripts put a space before punctuation ("project ."); written text does not.
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,?!])")

# Kick-off meetings ('a') long enough for 4k-token prompts, paired by neighbouring teams.
DEFAULT_TEAMS = (("ES2002", "ES2007"), ("ES2008", "ES2012"), ("TS3005", "TS3007"))


@dataclass
class Meeting:
    name: str
    utterances: list[str]  # "Speaker: text", markers removed
    summary: str           # the human summary of the whole meeting


def meeting_path(data: Path, name: str) -> Path:
    return data / "qmsum-ami" / "train" / f"{name}.json"


def clean_utterance(text: str) -> str:
    text = _MARKER.sub(" ", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return " ".join(text.split())


def load_meeting(data: Path, name: str) -> Meeting:
    """Read one QMSum meeting JSON: its transcript and the answer to the general query."""
    path = require(meeting_path(data, name))
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        turns = record["meeting_transcripts"]
        queries = record["general_query_list"]
    except (ValueError, KeyError) as error:
        raise DataNotFoundError(f"{path} is not a QMSum meeting file: {error}") from error
    utterances = []
    for turn in turns:
        text = clean_utterance(turn.get("content", ""))
        if text:
            utterances.append(f"{turn.get('speaker', 'Speaker')}: {text}")
    summary = queries[0]["answer"] if queries else ""
    return Meeting(name=name, utterances=utterances, summary=summary)


def meeting_pair(data: Path, reference_team: str, target_team: str, length_tokens: int,
                 continuation_tokens: int = 64, count_tokens: TokenCounter = word_count_tokens) -> Pair:
    """Two teams' kick-off meetings, each cut at `length_tokens` tokens.

    The target's next utterances form the continuation. The reference stops at the
    same length, so it holds no later part of either meeting.
    """
    reference = load_meeting(data, f"{reference_team}a")
    target = load_meeting(data, f"{target_team}a")
    reference_cut = leading_cut(reference.utterances, length_tokens, count_tokens)
    target_cut = leading_cut(target.utterances, length_tokens, count_tokens)
    continuation, total = [], 0
    for utterance in target.utterances[target_cut:]:
        continuation.append(utterance)
        total += count_tokens(utterance) + 1
        if total >= continuation_tokens:
            break
    return Pair(
        name=f"meeting-{reference_team}-{target_team}-{length_tokens}",
        reference="\n".join(reference.utterances[:reference_cut]),
        target="\n".join(target.utterances[:target_cut]),
        continuation="\n" + "\n".join(continuation),
        gold_summary=target.summary,
        meta={"reference": reference.name, "target": target.name, "length_tokens": length_tokens,
              "complete": target_cut >= len(target.utterances) - 1})
