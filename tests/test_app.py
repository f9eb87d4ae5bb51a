"""AppTest checks of the Streamlit app against the real embedded model.

Each run prefills the target twice on the CPU, so the runs use few new tokens and the
module shares one completed run between the tests that only read it.
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import app.presets
from app.results import VIEWS

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
# The first page load may convert the embedded model, and a run takes tens of seconds on a CPU.
TIMEOUT_S = 300
MAX_NEW_TOKENS = 4

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not app.presets.load_presets(), reason="assets/presets holds no preset"),
]


def start_app() -> AppTest:
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, [item.value for item in at.exception]
    at.sidebar.slider(key="param_max_new_tokens").set_value(MAX_NEW_TOKENS)
    return at


def plotly_chart_count(block) -> int:
    return len(block.get("plotly_chart"))


@pytest.fixture(scope="module")
def app_after_run() -> AppTest:
    """Run the default preset with reuse forced, so every view draws the SemShareKV path."""
    at = start_app()
    at.sidebar.slider(key="param_similarity_threshold").set_value(0.0)
    at.button(key="run").click().run()
    return at


def test_default_preset_fills_both_boxes():
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()
    first = app.presets.load_presets()[0]

    assert at.text_area(key="reference_text").value == first.reference
    assert at.text_area(key="target_text").value == first.target
    assert any("tokens in the prompt" in caption.value for caption in at.caption)


def test_run_shows_all_views(app_after_run):
    at = app_after_run

    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]
    assert at.session_state["run_count"] == 1
    assert [tab.label for tab in at.tabs] == [title for title, _ in VIEWS]
    for tab in at.tabs:
        if tab.label == "Embedding map":
            continue  # draws after a button click; tests/test_linked_views.py covers it
        assert plotly_chart_count(tab) >= 1, f"tab {tab.label!r} has no Plotly chart"


def test_run_shows_metric_cards(app_after_run):
    labels = [metric.label for metric in app_after_run.metric]

    for label in ("Similarity (LSH)", "Lexical similarity", "Prefill speedup", "Recomputed",
                  "KV memory saved", "First token agrees"):
        assert label in labels


def test_forced_reuse_has_no_fallback_notice(app_after_run):
    result = app_after_run.session_state["result"]

    assert result.reused
    assert not any("fell back" in warning.value for warning in app_after_run.warning)


def test_view_controls_keep_result_without_rerun(app_after_run):
    at = app_after_run
    result_before = at.session_state["result"]
    charts_before = plotly_chart_count(at)

    at.slider(key="deviation_percentile").set_value(95.0).run()
    at.segmented_control(key="deviation_scale").set_value("log10").run()
    at.toggle(key="recompute_document_only").set_value(False).run()
    # The window sliders exist only for targets longer than the smallest window.
    for slider in at.slider:
        if slider.key == "alignment_start":
            slider.set_value(10).run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.session_state["run_count"] == 1
    assert at.session_state["result"] is result_before
    assert plotly_chart_count(at) == charts_before


def test_parameter_change_marks_result_stale(app_after_run):
    at = app_after_run

    at.sidebar.slider(key="param_hd_fraction").set_value(0.2).run()

    assert at.session_state["run_count"] == 1
    assert len(at.tabs) == len(VIEWS)
    assert any("changed after this run" in info.value for info in at.info)


def test_unrelated_pair_falls_back():
    at = start_app()
    at.text_area(key="reference_text").set_value("The committee approved the budget for the new library. " * 4)
    at.text_area(key="target_text").set_value("Octopuses have three hearts and blue blood in their veins. " * 4)
    at.sidebar.slider(key="param_similarity_threshold").set_value(1.0)
    at.button(key="run").click().run()

    assert not at.exception, [item.value for item in at.exception]
    assert not at.session_state["result"].reused
    assert any("fell back" in warning.value for warning in at.warning)
    assert len(at.tabs) == len(VIEWS)


def test_empty_target_shows_error():
    at = start_app()
    at.text_area(key="target_text").set_value("   ").run()
    at.button(key="run").click().run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("empty" in error.value.lower() for error in at.error)
    assert "result" not in at.session_state
    assert len(at.tabs) == 0


def test_run_error_clears_when_input_changes():
    at = start_app()
    at.text_area(key="target_text").set_value("   ").run()
    at.button(key="run").click().run()
    assert any("empty" in error.value.lower() for error in at.error)

    at.text_area(key="target_text").set_value("A council approved a new park.").run()

    assert not any("empty" in error.value.lower() for error in at.error)


def test_app_loads_without_presets(monkeypatch, tmp_path):
    monkeypatch.setattr(app.presets, "PRESET_DIR", tmp_path)
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("No presets found" in info.value for info in at.info)
    assert at.text_area(key="target_text").value == ""


def test_missing_model_folder_shows_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMSHARE_ALLOW_LOCAL_MODELS", "1")
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()
    at.sidebar.radio(key="model_source").set_value("Local folder or hub id").run()
    at.sidebar.text_input(key="model_path").input(str(tmp_path / "no-model-here")).run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("Could not load the model" in error.value for error in at.error)
    assert not any("not allowed" in error.value for error in at.error)
    assert at.button(key="run").disabled


def test_suggested_hub_model_offline_shows_error():
    # The tests run with HF_HUB_OFFLINE=1, so a hub model that is not cached fails at once.
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()
    at.sidebar.radio(key="model_source").set_value("Suggested hub model").run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.sidebar.selectbox(key="suggested_model").value.model_id == "HuggingFaceTB/SmolLM2-360M-Instruct"
    assert any("Could not load the model" in error.value for error in at.error)
    assert at.button(key="run").disabled
