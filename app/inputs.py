"""Inputs: preset picker, the reference and target text areas, and their token counts."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import semshare_core as ss
from app.corpora import render_corpus_loader
from app.presets import Preset, load_presets
from app.upload_limit import uploader_limit_mb
from semshare_core.bench.pairs import Pair

REFERENCE_KEY = "reference_text"
TARGET_KEY = "target_text"
PRESET_KEY = "preset"


@dataclass(frozen=True)
class Texts:
    reference: str
    target: str


def render_inputs(bundle: ss.ModelBundle | None, instruction: str, truncate: int | None,
                  reserve_tokens: int, max_upload_bytes: int = ss.textio.MAX_TEXT_BYTES) -> Texts:
    presets = load_presets()
    _init_texts(presets)
    _preset_picker(presets)
    with st.expander("Load a pair from a corpus"):
        render_corpus_loader("explore_corpus", max_upload_bytes, _corpus_pair_button)

    reference_column, target_column = st.columns(2)
    with reference_column:
        st.text_area("Reference prompt", key=REFERENCE_KEY, height=260,
                     help="The prompt processed earlier. Its KV cache is rearranged and reused.")
        _token_count(bundle, st.session_state[REFERENCE_KEY], instruction, truncate, reserve_tokens)
        _upload(REFERENCE_KEY, "reference", max_upload_bytes)
    with target_column:
        st.text_area("Target prompt", key=TARGET_KEY, height=260,
                     help="The new prompt that says the same thing in other words. "
                          "It is prefilled twice: in full, and with SemShareKV.")
        _token_count(bundle, st.session_state[TARGET_KEY], instruction, truncate, reserve_tokens)
        _upload(TARGET_KEY, "target", max_upload_bytes)

    return Texts(st.session_state[REFERENCE_KEY], st.session_state[TARGET_KEY])


def upload_key(text_key: str) -> str:
    return f"{text_key}_upload"


def _upload(text_key: str, label: str, max_bytes: int) -> None:
    """Draw a file uploader that replaces the text box's content with the decoded file."""
    st.file_uploader(f"Or load the {label} prompt from a text file", type=["txt"], key=upload_key(text_key),
                     max_upload_size=uploader_limit_mb(max_bytes),
                     on_change=_apply_upload, args=(text_key, max_bytes),
                     help=f"UTF-8, UTF-16 with a byte-order mark, or Windows-1252 text, at most "
                          f"{max_bytes / 1_000_000:g} MB. The file replaces the text in the box above.")
    error = st.session_state.get(_upload_error_key(text_key))
    if error:
        st.error(error)


def _upload_error_key(text_key: str) -> str:
    return f"{text_key}_upload_error"


def _apply_upload(text_key: str, max_bytes: int) -> None:
    # A callback runs before the text area is drawn, so it may still set the box's value.
    st.session_state[_upload_error_key(text_key)] = None
    uploaded = st.session_state.get(upload_key(text_key))
    if uploaded is None:
        return
    try:
        text = read_upload(uploaded.name, uploaded.size, uploaded.getvalue, max_bytes)
    except ss.InputDecodeError as error:
        st.session_state[_upload_error_key(text_key)] = f"Could not load {uploaded.name}: {error}"
        return
    st.session_state[text_key] = text


def read_upload(name: str, size: int, read_bytes, max_bytes: int) -> str:
    """Decode an uploaded file, checking its size before reading it. Raises InputDecodeError."""
    if size > max_bytes:
        raise ss.InputDecodeError(f"the file has {size:,} bytes, above this server's upload limit of "
                                  f"{max_bytes:,} bytes. Upload a shorter text.")
    text = ss.textio.decode_text(read_bytes(), name, max_bytes=max_bytes)
    if not ss.prompts.clean_text(text).strip():
        raise ss.InputDecodeError("the file contains no text.")
    return text


def _init_texts(presets: list[Preset]) -> None:
    # Fill the boxes from the first preset on the first run only, so edits survive reruns.
    if REFERENCE_KEY in st.session_state:
        return
    first = presets[0] if presets else None
    st.session_state[REFERENCE_KEY] = first.reference if first else ""
    st.session_state[TARGET_KEY] = first.target if first else ""


def _preset_picker(presets: list[Preset]) -> None:
    if not presets:
        st.info("No presets found in assets/presets. Paste a reference and a target text below.")
        return
    names = [preset.name for preset in presets]
    by_name = {preset.name: preset for preset in presets}
    st.selectbox("Preset", names, key=PRESET_KEY, on_change=_apply_preset, args=(by_name,),
                 help="Load an example pair into both text boxes. Editing the boxes afterwards is fine.")
    chosen = by_name.get(st.session_state.get(PRESET_KEY))
    if chosen is not None and chosen.description:
        st.caption(chosen.description)


def _apply_preset(by_name: dict[str, Preset]) -> None:
    preset = by_name.get(st.session_state[PRESET_KEY])
    if preset is not None:
        st.session_state[REFERENCE_KEY] = preset.reference
        st.session_state[TARGET_KEY] = preset.target


def _corpus_pair_button(pair: Pair) -> None:
    st.button("Load into the text boxes", key="explore_corpus_load", on_click=_apply_pair,
              args=(pair.reference, pair.target))


def _apply_pair(reference: str, target: str) -> None:
    st.session_state[REFERENCE_KEY] = reference
    st.session_state[TARGET_KEY] = target


def _token_count(bundle: ss.ModelBundle | None, text: str, instruction: str, truncate: int | None,
                 reserve_tokens: int) -> None:
    if bundle is None:
        st.caption("Token count appears once the model is loaded.")
        return
    try:
        n_tokens, n_document = _count_tokens(bundle, bundle.name, str(bundle.device), text, instruction,
                                             truncate, reserve_tokens)
    except ss.EmptyPromptError:
        st.caption("Empty: enter some text.")
        return
    except ss.SemShareError as error:
        st.warning(str(error))
        return
    st.caption(f"{n_tokens:,} tokens in the prompt, {n_document:,} of them from this text")


@st.cache_data(show_spinner=False, max_entries=64)
def _count_tokens(_bundle: ss.ModelBundle, model_name: str, device: str, text: str, instruction: str,
                  truncate: int | None, reserve_tokens: int) -> tuple[int, int]:
    # Streamlit does not hash `_bundle`, so model_name and device stand for it in the cache key.
    prompt = ss.build_prompt(_bundle, text, instruction=instruction, truncate=truncate,
                             reserve_tokens=reserve_tokens)
    start, end = prompt.document_span
    return prompt.n_tokens, end - start
