"""Prompt pairs from real corpora: two text files, OneStopEnglish stories, QMSum meetings.

The corpus formats are read by the benchmark's loaders (`bench.onestop`, `bench.meetings`).
This module finds a folder's layout, stages uploaded files into the layout those loaders
expect, and turns loader errors into CorpusError messages that name the expected layout.
"""

from __future__ import annotations

import re
from pathlib import Path

from .bench.meetings import load_meeting, meeting_path
from .bench.onestop import LEVELS, story_paragraphs, story_path
from .bench.pairs import DataNotFoundError, Pair
from .errors import InputDecodeError, SemShareError
from .textio import decode_text

ONESTOP = "onestopenglish"
QMSUM = "qmsum"
LEVEL_NAMES = {"adv": "Advanced", "int": "Intermediate", "ele": "Elementary"}
ONESTOP_LAYOUT = ("a OneStopEnglish folder holds Adv-Txt/NAME-adv.txt and Int-Txt/NAME-int.txt or "
                  "Ele-Txt/NAME-ele.txt (directly or in an onestopenglish/ subfolder)")
QMSUM_LAYOUT = "a QMSum folder holds meeting JSON files (directly, or in qmsum-ami/train/)"
_STORY_FILE = re.compile(r"^(?P<name>.+)-(?P<level>adv|int|ele)\.txt$")


class CorpusError(SemShareError, ValueError):
    """A corpus folder or uploaded corpus file does not have the expected layout or format."""


def detect_layout(folder: Path) -> tuple[str, Path]:
    """Return (layout, root) where `root` is the folder that the benchmark loaders read.

    The loaders expect `root/onestopenglish/Adv-Txt/...` and `root/qmsum-ami/train/NAME.json`.
    A folder that is itself the corpus folder gives its parent as root when its name fits.
    Otherwise the CorpusError names the expected folder name. Raises CorpusError for other layouts.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CorpusError(f"Folder not found: {folder}.")
    if (folder / ONESTOP / LEVELS["adv"]).is_dir():
        return ONESTOP, folder
    if (folder / "qmsum-ami" / "train").is_dir():
        return QMSUM, folder
    if (folder / LEVELS["adv"]).is_dir():
        return ONESTOP, _root_of(folder, ONESTOP)
    if folder.name == "train" and folder.parent.name == "qmsum-ami":
        return QMSUM, folder.parent.parent
    raise CorpusError(f"{folder} has no known corpus layout: {ONESTOP_LAYOUT}, and {QMSUM_LAYOUT}. "
                      "For two plain text files, upload them instead.")


def _root_of(folder: Path, expected_name: str) -> Path:
    if folder.name != expected_name:
        raise CorpusError(f"{folder} looks like a OneStopEnglish folder, but the loader needs it to be named "
                          f"{expected_name!r}. Rename it, or choose its parent folder.")
    return folder.parent


def onestop_story_names(root: Path, level: str) -> list[str]:
    """Names of the stories that exist at the Advanced level and at `level`, sorted."""
    _check_level(level)
    advanced = root / ONESTOP / LEVELS["adv"]
    names = [path.name[:-len("-adv.txt")] for path in sorted(advanced.glob("*-adv.txt"))]
    return [name for name in names if story_path(root, name, level).is_file()]


def onestop_pair(root: Path, name: str, level: str) -> Pair:
    """Pair the Advanced story (reference) with its `level` rewrite (target), paragraphs joined by newlines."""
    _check_level(level)
    try:
        reference = story_paragraphs(root, name, "adv")
        target = story_paragraphs(root, name, level)
    except (DataNotFoundError, InputDecodeError) as error:
        raise CorpusError(f"Could not read story {name!r}: {error}") from error
    if not reference or not target:
        raise CorpusError(f"Story {name!r} has an empty file at the Advanced or {LEVEL_NAMES[level]} level.")
    return Pair(name=f"{name} ({LEVEL_NAMES['adv']} / {LEVEL_NAMES[level]})", reference="\n".join(reference),
                target="\n".join(target), meta={"corpus": ONESTOP, "story": name, "level": level})


def meeting_names(root: Path) -> list[str]:
    return sorted(path.stem for path in (root / "qmsum-ami" / "train").glob("*.json"))


def meeting_text(root: Path, name: str) -> str:
    """Read a meeting transcript as "Speaker: text" lines, transcription markers removed."""
    try:
        meeting = load_meeting(root, name)
    except DataNotFoundError as error:
        raise CorpusError(f"Could not read meeting {name!r}: {error}") from error
    except (AttributeError, TypeError) as error:
        # load_meeting expects a list of {"speaker", "content"} objects.
        raise CorpusError(f"{meeting_path(root, name)} is not a QMSum meeting file: its meeting_transcripts "
                          f"entries must be objects with speaker and content strings ({error}).") from error
    if not meeting.utterances:
        raise CorpusError(f"Meeting {name!r} has no transcript text.")
    return "\n".join(meeting.utterances)


def meeting_pair(root: Path, reference_name: str, target_name: str) -> Pair:
    """Pair two meeting transcripts, for example two teams holding the same design meeting."""
    if reference_name == target_name:
        raise CorpusError("Pick two different meetings: a meeting paired with itself is a copy, not a paraphrase.")
    return Pair(name=f"{reference_name} / {target_name}", reference=meeting_text(root, reference_name),
                target=meeting_text(root, target_name),
                meta={"corpus": QMSUM, "reference": reference_name, "target": target_name})


def text_pair(reference: tuple[str, bytes], target: tuple[str, bytes], max_bytes: int) -> Pair:
    """Decode two uploaded text files, each given as (file name, content). Raises CorpusError."""
    texts = []
    for role, (name, raw) in (("reference", reference), ("target", target)):
        try:
            text = decode_text(raw, name, max_bytes=max_bytes)
        except InputDecodeError as error:
            raise CorpusError(f"The {role} file: {error}") from error
        if not text.strip():
            raise CorpusError(f"The {role} file {name} contains no text.")
        texts.append(text)
    return Pair(name=f"{reference[0]} / {target[0]}", reference=texts[0], target=texts[1],
                meta={"corpus": "text"})


def stage_uploads(files: list[tuple[str, bytes]], layout: str, root: Path, max_bytes: int) -> Path:
    """Write uploaded (name, content) files under `root` in the layout the loaders read, and return root.

    OneStopEnglish files must be named NAME-adv.txt, NAME-int.txt or NAME-ele.txt, and
    QMSum files NAME.json. Raises CorpusError on a wrong name or a file over `max_bytes`.
    """
    if not files:
        raise CorpusError("No file was uploaded.")
    for name, raw in files:
        if len(raw) > max_bytes:
            raise CorpusError(f"{name} has {len(raw):,} bytes, above this server's upload limit of "
                              f"{max_bytes:,} bytes.")
        destination = _staged_path(root, name, layout)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(raw)
    return root


def _staged_path(root: Path, name: str, layout: str) -> Path:
    base = Path(name).name  # drop any folder part of the uploaded name
    if layout == ONESTOP:
        match = _STORY_FILE.match(base)
        if match is None:
            raise CorpusError(f"{base} is not named like a OneStopEnglish story file: expected NAME-adv.txt, "
                              "NAME-int.txt or NAME-ele.txt.")
        return story_path(root, match["name"], match["level"])
    if layout == QMSUM:
        if not base.endswith(".json") or base == ".json":
            raise CorpusError(f"{base} is not a QMSum meeting file: expected NAME.json.")
        return meeting_path(root, base[:-len(".json")])
    raise CorpusError(f"Unknown corpus layout {layout!r}: use {ONESTOP!r} or {QMSUM!r}.")


def _check_level(level: str) -> None:
    if level not in ("int", "ele"):
        raise CorpusError(f"Unknown target level {level!r}: use 'int' (Intermediate) or 'ele' (Elementary).")
