"""Prompt store page: stored reference prompts, ranked for a target by LSH similarity."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import semshare_core as ss
from app import store_state
from app.corpora import render_corpus_loader
from app.export import csv_download
from app.inputs import REFERENCE_KEY, TARGET_KEY, read_upload
from app.model_loader import try_load_bundle
from app.operator_settings import load_operator_settings
from app.pages import explore
from app.presets import Preset, load_presets
from app.upload_limit import uploader_limit_mb
from app.sidebar import Settings, render_sidebar
from semshare_core.store import DEFAULT_LEXICAL_THRESHOLD, Candidate, StoredPrompt, rank_references

STORE_TARGET_KEY = "store_target"
LEXICAL_THRESHOLD_KEY = "store_lexical_threshold"
CHOICE_KEY = "store_choice"
BEST_KEY = "store_best"
NEW_NAME_KEY = "store_new_name"
NEW_TEXT_KEY = "store_new_text"
UPLOAD_KEY = "store_upload"
MESSAGE_KEY = "store_message"


def render() -> None:
    st.title("Prompt store")
    st.caption("A server keeps the caches of prompts it has already processed. For a new target prompt, "
               "SemShareKV picks the stored prompt whose token embeddings are closest by LSH similarity, "
               "and reuses its cache when the similarity reaches the threshold. Beside it, a MinHash LSH "
               "index over the texts shows what a text-level cache would find.")
    operator_settings = load_operator_settings()
    settings = render_sidebar(show_share_link=False)
    bundle = try_load_bundle(settings.model_name, settings.device, operator_settings)
    presets = load_presets()
    store_state.init_store(presets)

    _render_store(presets, operator_settings.max_upload_bytes)
    st.divider()
    target = _render_target(presets)
    if bundle is None or settings.params is None:
        st.info("The ranking appears once the model is loaded and every parameter in the sidebar is valid.")
        return
    candidates = _rank(bundle, settings, target)
    if candidates:
        _render_ranking(candidates, settings.params.similarity_threshold)
        _render_open_in_explore(candidates, target)


# Stored prompts


def _render_store(presets: list[Preset], max_upload_bytes: int) -> None:
    st.subheader("Stored reference prompts")
    prompts = store_state.stored_prompts()
    if prompts:
        st.dataframe(pd.DataFrame({"name": [p.name for p in prompts], "source": [p.source for p in prompts],
                                   "words": [len(p.text.split()) for p in prompts]}),
                     hide_index=True, width="stretch")
    else:
        st.info("The store is empty. Add a prompt below, or restore the presets' references.")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        getattr(st, message[0])(message[1])

    with st.expander("Add a prompt"):
        st.text_input("Name", key=NEW_NAME_KEY, placeholder="Meeting notes, March")
        st.text_area("Text", key=NEW_TEXT_KEY, height=160)
        st.button("Add to the store", key="store_add", on_click=_add_typed_prompt)
        st.file_uploader("Or add text files (one stored prompt per file)", type=["txt"],
                         accept_multiple_files=True, key=UPLOAD_KEY, on_change=_add_uploads,
                         max_upload_size=uploader_limit_mb(max_upload_bytes),
                         args=(max_upload_bytes,),
                         help=f"UTF-8, UTF-16 with a byte-order mark, or Windows-1252 text, at most "
                              f"{max_upload_bytes / 1_000_000:g} MB a file. The file name becomes the name.")
    with st.expander("Add a reference from a corpus"):
        render_corpus_loader("store_corpus", max_upload_bytes, _corpus_actions)
    with st.expander("Remove prompts"):
        doomed = st.multiselect("Prompts to remove", [p.name for p in prompts], key="store_remove_names")
        st.button("Remove", key="store_remove", disabled=not doomed,
                  on_click=store_state.remove_prompts, args=(doomed,))
        st.button("Restore the presets' references", key="store_reset",
                  on_click=store_state.reset_store, args=(presets,),
                  help="Replace the store's content with the reference of every preset.")


def _add_typed_prompt() -> None:
    text = st.session_state.get(NEW_TEXT_KEY, "")
    if not ss.prompts.clean_text(text).strip():
        st.session_state[MESSAGE_KEY] = ("warning", "Enter a text before adding it to the store.")
        return
    name = store_state.add_prompt(st.session_state.get(NEW_NAME_KEY, ""), text, "added")
    st.session_state[NEW_TEXT_KEY] = ""
    st.session_state[NEW_NAME_KEY] = ""
    st.session_state[MESSAGE_KEY] = ("success", f"Added {name!r} to the store.")


def _add_uploads(max_bytes: int) -> None:
    added, errors = [], []
    for uploaded in st.session_state.get(UPLOAD_KEY) or []:
        try:
            text = read_upload(uploaded.name, uploaded.size, uploaded.getvalue, max_bytes)
        except ss.InputDecodeError as error:
            errors.append(f"Could not load {uploaded.name}: {error}")
            continue
        added.append(store_state.add_prompt(uploaded.name.rsplit(".", 1)[0], text, "uploaded"))
    if errors:
        st.session_state[MESSAGE_KEY] = ("error", " ".join(errors))
    elif added:
        st.session_state[MESSAGE_KEY] = ("success", f"Added {', '.join(map(repr, added))} to the store.")


def _corpus_actions(pair) -> None:
    """Buttons under a loaded corpus pair: store its reference and make its text the target."""
    st.button("Store the reference and rank the target", key="store_corpus_add",
              on_click=_store_corpus_pair, args=(pair.name, pair.reference, pair.target))


def _store_corpus_pair(name: str, reference: str, target: str) -> None:
    stored = store_state.add_prompt(name, reference, "corpus")
    st.session_state[STORE_TARGET_KEY] = target
    st.session_state[MESSAGE_KEY] = ("success", f"Added {stored!r} to the store; its pair's target is "
                                                "now the target below.")


# Target and ranking


def _render_target(presets: list[Preset]) -> str:
    st.subheader("Target prompt")
    if STORE_TARGET_KEY not in st.session_state:
        st.session_state[STORE_TARGET_KEY] = st.session_state.get(TARGET_KEY) or (
            presets[0].target if presets else "")
    by_name = {preset.name: preset for preset in presets}
    if presets:
        st.selectbox("Fill with a preset's target", ["(keep the text below)", *by_name], key="store_target_preset",
                     on_change=_apply_target_preset, args=(by_name,),
                     help="Each preset's target is a rewrite of that preset's reference, so its true "
                          "reference is in the store unless you removed it.")
    st.text_area("Target prompt", key=STORE_TARGET_KEY, height=180,
                 help="The new prompt. Every stored prompt is scored as a reference for it.")
    st.slider("MinHash LSH threshold", min_value=0.1, max_value=0.9, step=0.05,
              value=DEFAULT_LEXICAL_THRESHOLD, key=LEXICAL_THRESHOLD_KEY,
              help="The text-level index returns stored prompts whose estimated Jaccard similarity of "
                   "word 3-shingles is about this value or more (0-1).")
    return st.session_state[STORE_TARGET_KEY]


def _apply_target_preset(by_name: dict[str, Preset]) -> None:
    preset = by_name.get(st.session_state.get("store_target_preset"))
    if preset is not None:
        st.session_state[STORE_TARGET_KEY] = preset.target


def _rank(bundle: ss.ModelBundle, settings: Settings, target: str) -> list[Candidate]:
    prompts = store_state.stored_prompts()
    if not prompts:
        return []
    try:
        with st.spinner("Scoring the stored prompts…"):
            return _cached_ranking(bundle, bundle.name, str(bundle.device), target, tuple(prompts), settings.params,
                                   settings.instruction, settings.truncate,
                                   float(st.session_state[LEXICAL_THRESHOLD_KEY]))
    except ss.SemShareError as error:
        st.error(f"Could not rank the stored prompts: {error}")
        return []


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_ranking(_bundle: ss.ModelBundle, model_name: str, device: str, target: str,
                    prompts: tuple[StoredPrompt, ...], params: ss.PipelineParams, instruction: str,
                    truncate: int | None, lexical_threshold: float) -> list[Candidate]:
    # Streamlit does not hash `_bundle`, so model_name and device stand for it in the cache key.
    return rank_references(_bundle, target, list(prompts), params, instruction=instruction, truncate=truncate,
                           lexical_threshold=lexical_threshold)


def ranking_table(candidates: list[Candidate]) -> pd.DataFrame:
    return pd.DataFrame({
        "rank": range(1, len(candidates) + 1),
        "stored prompt": [c.name for c in candidates],
        "source": [c.source for c in candidates],
        "LSH similarity": [round(c.lsh_similarity, 4) for c in candidates],
        "mean Hamming distance d (bits)": [round(c.mean_distance, 2) for c in candidates],
        "lexical MinHash similarity": [round(c.lexical_similarity, 4) for c in candidates],
        "MinHash LSH index returns it": [c.lexical_index_hit for c in candidates],
        "reusable (at threshold)": [c.reusable for c in candidates],
        "reference tokens": [c.n_tokens for c in candidates],
    })


# Short headers so that every column fits beside the others; the CSV keeps the full names.
RANKING_COLUMNS = {
    "rank": st.column_config.NumberColumn("rank", width=40),
    "LSH similarity": st.column_config.NumberColumn(
        "LSH sim.", format="%.3f", help="1 - d/d_max over the target's document tokens (0-1). Reuse needs "
                                        "at least the similarity threshold."),
    "mean Hamming distance d (bits)": st.column_config.NumberColumn(
        "d (bits)", format="%.1f", help="Mean Hamming distance from each target token to its nearest "
                                        "stored token, in signature bits."),
    "lexical MinHash similarity": st.column_config.NumberColumn(
        "lexical sim.", format="%.3f", help="MinHash estimate of the Jaccard similarity of word 3-shingles (0-1)."),
    "MinHash LSH index returns it": st.column_config.CheckboxColumn(
        "text index hit", help="Whether the MinHash LSH index over the stored texts returns this prompt."),
    "reusable (at threshold)": st.column_config.CheckboxColumn(
        "reusable", help="Whether the LSH similarity reaches the similarity threshold in the sidebar."),
    "reference tokens": st.column_config.NumberColumn("tokens", help="Tokens of the wrapped stored prompt."),
}


def _render_ranking(candidates: list[Candidate], threshold: float) -> None:
    st.subheader("Candidates, best LSH similarity first")
    table = ranking_table(candidates)
    st.dataframe(table, hide_index=True, width="stretch", key="store_ranking", column_config=RANKING_COLUMNS)
    csv_download(table, "prompt_store_ranking.csv", key="store_ranking_csv")
    st.caption("LSH similarity compares token embeddings, so it sees a paraphrase as close. Lexical "
               "similarity compares word 3-shingles, so it sees only shared wording. Both are estimates "
               "from random hyperplanes or hashes: on the presets, with 128 bits, changing the LSH seed moved "
               "the LSH similarity by up to 0.03, so closer candidates may swap places.")
    _render_verdict(candidates, threshold)


def _render_verdict(candidates: list[Candidate], threshold: float) -> None:
    best = candidates[0]
    hits = [c.name for c in candidates if c.lexical_index_hit]
    lexical_threshold = st.session_state[LEXICAL_THRESHOLD_KEY]
    if best.reusable:
        st.success(f"SemShareKV reuses the cache of **{best.name}**: its LSH similarity {best.lsh_similarity:.3f} "
                   f"reaches the threshold {threshold:.2f}.")
    else:
        st.warning(f"No stored prompt reaches the similarity threshold {threshold:.2f} (best: {best.name}, "
                   f"{best.lsh_similarity:.3f}), so SemShareKV would prefill this target in full.")
    if hits:
        st.info(f"The MinHash LSH index (threshold {lexical_threshold:.2f}) returns: {', '.join(hits)}.")
    else:
        st.info(f"The MinHash LSH index (threshold {lexical_threshold:.2f}) returns no stored prompt: "
                "a text-level cache would find nothing to reuse for this target.")
    if best.reusable and not best.lexical_index_hit:
        st.caption(f"This is the paraphrase case: {best.name} says the same thing in other words, so the text "
                   "index misses it while the embedding LSH finds it.")


def _render_open_in_explore(candidates: list[Candidate], target: str) -> None:
    st.subheader("Run it")
    names = [c.name for c in candidates]
    # Preselect the best candidate again whenever the ranking's winner changes.
    if st.session_state.get(BEST_KEY) != names[0]:
        st.session_state[BEST_KEY] = names[0]
        st.session_state[CHOICE_KEY] = names[0]
    choice = st.selectbox("Reference to run with", names, key=CHOICE_KEY,
                          help="The best candidate is preselected. Pick another one to see what a worse "
                               "reference does.")
    by_name = {prompt.name: prompt for prompt in store_state.stored_prompts()}
    if st.button("Open in Explore", type="primary", key="store_open_explore", disabled=choice not in by_name,
                 help="Put this reference and the target into the Explore page's text boxes."):
        st.session_state[REFERENCE_KEY] = by_name[choice].text
        st.session_state[TARGET_KEY] = target
        st.switch_page(st.Page(explore.render, title="Explore", url_path="explore"))
