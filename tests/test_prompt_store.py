"""Prompt store: reference ranking with the embedded model, the MinHash LSH index and the page."""

import pytest
from streamlit.testing.v1 import AppTest

import app.presets
from semshare_core.errors import EmptyPromptError, InvalidParameterError
from semshare_core.store import StoredPrompt, lexical_index_hits, rank_references

PRESETS = {preset.name: preset for preset in app.presets.load_presets()}
PARAPHRASES = ("News story and plain-language rewrite", "Product description and paraphrase")
CONTROLLED = "Controlled rewrite of a few sentences"
TIMEOUT_S = 300
# Prompt store first, so that AppTest opens it; Explore second, so that switch_page can reach it.
STORE_FIRST_APP = """
import streamlit as st
from app.page_state import keep_widget_state
from app.pages import explore, prompt_store
keep_widget_state()
st.navigation([st.Page(prompt_store.render, title="Prompt store", url_path="prompt-store", default=True),
               st.Page(explore.render, title="Explore", url_path="explore")]).run()
"""

pytestmark = pytest.mark.skipif(not all(name in PRESETS for name in (*PARAPHRASES, CONTROLLED)),
                                reason="assets/presets lacks the presets these tests rank")


def stored_references() -> list[StoredPrompt]:
    return [StoredPrompt(preset.name, preset.reference, "preset") for preset in PRESETS.values()]


@pytest.mark.slow
@pytest.mark.parametrize("name", PARAPHRASES)
def test_ranking_puts_true_reference_first(embedded_bundle, name):
    candidates = rank_references(embedded_bundle, PRESETS[name].target, stored_references())

    assert candidates[0].name == name
    assert candidates[0].reusable
    assert candidates[0].lsh_similarity > candidates[1].lsh_similarity
    assert [c.lsh_similarity for c in candidates] == sorted((c.lsh_similarity for c in candidates), reverse=True)


@pytest.mark.parametrize("name", PARAPHRASES)
def test_minhash_index_misses_paraphrase(name):
    hits = lexical_index_hits(PRESETS[name].target, stored_references())

    assert name not in hits


def test_minhash_index_finds_light_edit():
    hits = lexical_index_hits(PRESETS[CONTROLLED].target, stored_references())

    assert CONTROLLED in hits


def test_minhash_index_finds_exact_copy():
    text = PRESETS[CONTROLLED].reference

    assert lexical_index_hits(text, stored_references(), threshold=0.9) == {CONTROLLED}


@pytest.mark.parametrize("threshold", [0.0, 1.0, -0.5])
def test_minhash_index_rejects_threshold(threshold):
    with pytest.raises(InvalidParameterError, match="between 0 and 1"):
        lexical_index_hits("some text", stored_references(), threshold=threshold)


@pytest.mark.slow
def test_ranking_rejects_duplicate_names(embedded_bundle):
    stored = [StoredPrompt("same", "one text"), StoredPrompt("same", "another text")]

    with pytest.raises(InvalidParameterError, match="'same'"):
        rank_references(embedded_bundle, "a target", stored)


@pytest.mark.slow
def test_ranking_names_empty_stored_prompt(embedded_bundle):
    stored = [StoredPrompt("blank one", " \n\t ")]

    with pytest.raises(EmptyPromptError, match="'blank one'"):
        rank_references(embedded_bundle, "a target", stored)


def start_store_page() -> AppTest:
    at = AppTest.from_string(STORE_FIRST_APP, default_timeout=TIMEOUT_S).run()
    assert not at.exception, [item.value for item in at.exception]
    return at


@pytest.mark.slow
def test_store_page_ranks_and_opens_explore():
    at = start_store_page()
    name = "Product description and paraphrase"
    at.selectbox(key="store_target_preset").set_value(name).run()

    table = [frame for frame in at.dataframe if "LSH similarity" in frame.value.columns][0].value
    assert table["stored prompt"].iloc[0] == name
    assert not table["MinHash LSH index returns it"].iloc[0]
    assert any("paraphrase case" in caption.value for caption in at.caption)
    assert at.selectbox(key="store_choice").value == name

    at.button(key="store_open_explore").click().run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.text_area(key="reference_text").value == PRESETS[name].reference
    assert at.text_area(key="target_text").value == PRESETS[name].target


@pytest.mark.slow
def test_store_page_adds_typed_prompt():
    at = start_store_page()
    at.text_input(key="store_new_name").input("My note")
    at.text_area(key="store_new_text").input(PRESETS[CONTROLLED].target)
    at.button(key="store_add").click().run()

    names = list(at.dataframe[0].value["name"])
    assert "My note" in names
    assert any("Added 'My note'" in item.value for item in at.success)


@pytest.mark.slow
def test_store_page_warns_on_empty_text():
    at = start_store_page()
    at.button(key="store_add").click().run()

    assert any("Enter a text" in item.value for item in at.warning)
    assert not at.exception
