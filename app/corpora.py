"""Corpus loader widget: pick a prompt pair from uploaded files or a corpus folder on the server."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

import streamlit as st

from app.operator_settings import load_operator_settings
from app.upload_limit import uploader_limit_mb
from semshare_core import corpora
from semshare_core.bench.pairs import DEFAULT_DATA_DIR, Pair

TEXT_FILES = "Two text files"
ONESTOP_FILES = "OneStopEnglish stories"
QMSUM_FILES = "QMSum meetings"
FORMATS = (TEXT_FILES, ONESTOP_FILES, QMSUM_FILES)
UPLOAD = "Upload files"
DATA_FOLDER = "Corpora installed with the app"
FOLDER = "Any folder on this server"

PairActions = Callable[[Pair], None]


def render_corpus_loader(prefix: str, max_upload_bytes: int, actions: PairActions) -> None:
    """Draw the loader. Once a pair is chosen, show its sizes and call `actions(pair)` to draw buttons."""
    sources = _sources()
    source = sources[0]
    if len(sources) > 1:
        source = st.radio("Source", sources, key=f"{prefix}_source", horizontal=True,
                          help="Any folder on the server can be read only where the operator allows local "
                               "paths (SEMSHARE_ALLOW_LOCAL_MODELS=1).")
    try:
        pair = _source_pair(prefix, source, max_upload_bytes)
    except corpora.CorpusError as error:
        st.error(str(error))
        return
    if pair is None:
        return
    st.caption(f"{pair.name}: reference {len(pair.reference.split()):,} words, "
               f"target {len(pair.target.split()):,} words.")
    actions(pair)


def _sources() -> list[str]:
    sources = [UPLOAD]
    if DEFAULT_DATA_DIR.is_dir():
        sources.append(DATA_FOLDER)
    if load_operator_settings().allow_local_models:
        sources.append(FOLDER)
    return sources


def _source_pair(prefix: str, source: str, max_upload_bytes: int) -> Pair | None:
    if source == DATA_FOLDER:
        return _root_pair(prefix, DEFAULT_DATA_DIR)
    if source == FOLDER:
        return _folder_pair(prefix)
    return _upload_pair(prefix, max_upload_bytes)


def _upload_pair(prefix: str, max_bytes: int) -> Pair | None:
    kind = st.radio("Format", FORMATS, key=f"{prefix}_format", horizontal=True)
    limit = f"at most {max_bytes / 1_000_000:g} MB a file"
    if kind == TEXT_FILES:
        size_mb = uploader_limit_mb(max_bytes)
        reference = st.file_uploader(f"Reference text file ({limit})", type=["txt"], key=f"{prefix}_text_reference",
                                     max_upload_size=size_mb)
        target = st.file_uploader(f"Target text file ({limit})", type=["txt"], key=f"{prefix}_text_target",
                                  max_upload_size=size_mb)
        if reference is None or target is None:
            st.caption("Upload both files: UTF-8, UTF-16 with a byte-order mark, or Windows-1252 text.")
            return None
        return corpora.text_pair((reference.name, _read(reference, max_bytes)),
                                 (target.name, _read(target, max_bytes)), max_bytes)

    layout = corpora.ONESTOP if kind == ONESTOP_FILES else corpora.QMSUM
    help_text = ("Files named NAME-adv.txt and NAME-int.txt or NAME-ele.txt, as in the corpus's "
                 "Texts-SeparatedByReadingLevel folders." if layout == corpora.ONESTOP
                 else "Meeting files NAME.json from QMSum's data folders, for example ES2002a.json and ES2003a.json.")
    uploads = st.file_uploader(f"{kind} ({limit})", type=["txt"] if layout == corpora.ONESTOP else ["json"],
                               accept_multiple_files=True, key=f"{prefix}_{layout}_files", help=help_text,
                               max_upload_size=uploader_limit_mb(max_bytes))
    if not uploads:
        st.caption(help_text)
        return None
    files = [(uploaded.name, _read(uploaded, max_bytes)) for uploaded in uploads]
    # The files are staged only for this rerun: the pair's texts are read before the folder goes.
    with tempfile.TemporaryDirectory(prefix="semshare-corpus-") as folder:
        root = corpora.stage_uploads(files, layout, Path(folder), max_bytes)
        return _pick_pair(prefix, layout, root)


def _read(uploaded, max_bytes: int) -> bytes:
    # Check the size Streamlit reports before reading, so that an oversized file is never decoded.
    if uploaded.size > max_bytes:
        raise corpora.CorpusError(f"{uploaded.name} has {uploaded.size:,} bytes, above this server's upload "
                                  f"limit of {max_bytes:,} bytes.")
    return uploaded.getvalue()


def _folder_pair(prefix: str) -> Pair | None:
    path = st.text_input("Corpus folder", key=f"{prefix}_folder",
                         help="A OneStopEnglish folder (with Adv-Txt/, Int-Txt/, Ele-Txt/), a QMSum "
                              "folder of meeting JSON files, or a folder holding onestopenglish/ or "
                              "qmsum-ami/train/.").strip()
    if not path:
        return None
    return _root_pair(prefix, Path(path).expanduser())


def _root_pair(prefix: str, folder: Path) -> Pair | None:
    layout, root = corpora.detect_layout(folder)
    if (root / corpora.ONESTOP).is_dir() and (root / "qmsum-ami" / "train").is_dir():
        choice = st.radio("Corpus", (ONESTOP_FILES, QMSUM_FILES), key=f"{prefix}_folder_corpus", horizontal=True)
        layout = corpora.ONESTOP if choice == ONESTOP_FILES else corpora.QMSUM
    return _pick_pair(prefix, layout, root)


def _pick_pair(prefix: str, layout: str, root: Path) -> Pair | None:
    if layout == corpora.ONESTOP:
        return _pick_story(prefix, root)
    return _pick_meetings(prefix, root)


def _pick_story(prefix: str, root: Path) -> Pair | None:
    level = st.radio("Target level", ("int", "ele"), key=f"{prefix}_level", horizontal=True,
                     format_func=corpora.LEVEL_NAMES.get,
                     help="The reference is the Advanced text; the target is its rewrite at this level.")
    names = corpora.onestop_story_names(root, level)
    if not names:
        raise corpora.CorpusError(f"No story has both an Advanced file and a {corpora.LEVEL_NAMES[level]} file: "
                                  f"{corpora.ONESTOP_LAYOUT}.")
    name = st.selectbox("Story", names, key=f"{prefix}_story")
    return corpora.onestop_pair(root, name, level)


def _pick_meetings(prefix: str, root: Path) -> Pair | None:
    names = corpora.meeting_names(root)
    if len(names) < 2:
        raise corpora.CorpusError(f"Found {len(names)} meeting file(s), and a pair needs two: {corpora.QMSUM_LAYOUT}.")
    columns = st.columns(2)
    reference = columns[0].selectbox("Reference meeting", names, index=0, key=f"{prefix}_meeting_reference")
    target = columns[1].selectbox("Target meeting", names, index=_same_meeting_other_team(names, reference),
                                  key=f"{prefix}_meeting_target",
                                  help="AMI teams held the same four design meetings (a-d), so ES2002a and "
                                       "ES2003a are two teams' kick-off meetings.")
    return corpora.meeting_pair(root, reference, target)


def _same_meeting_other_team(names: list[str], reference: str) -> int:
    """Index of another meeting with the same letter (the same meeting held by another team)."""
    for index, name in enumerate(names):
        if name != reference and name[-1:] == reference[-1:]:
            return index
    return 1 if names[0] == reference else 0
