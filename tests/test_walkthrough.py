"""AppTest checks of the Walkthrough page against a real run of the embedded model.

The module makes one run through the page's own "Run the default preset" button and
reuses its result for every other test, because each run takes tens of seconds on a CPU.
"""

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

import app.presets
import semshare_core as ss
from app.walkthrough.data import common_prefix_length, rope_self_similarity
from app.walkthrough.default_run import saved_default_runs
from app.walkthrough.navigation import parse_step
from app.walkthrough.steps import STEPS
from semshare_core.matching import rotate_embeddings

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
TIMEOUT_S = 300
N_STEPS = len(STEPS)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not app.presets.load_presets(), reason="assets/presets holds no preset"),
]


def open_walkthrough(result=None, step: str | None = None, selected_token=None) -> AppTest:
    """Return an AppTest on the Walkthrough page, optionally with a stored result and a URL step."""
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S)
    # AppTest.switch_page() accepts only file pages. A callable page is keyed by the hash of its url_path.
    at._page_hash = calc_hash("walkthrough")
    if result is not None:
        at.session_state["result"] = result
    if selected_token is not None:
        at.session_state["selected_token"] = selected_token
    if step is not None:
        at.query_params["step"] = step
    return at.run()


def step_heading(at: AppTest) -> str:
    headings = [item.value for item in at.markdown if item.value.startswith("### Step ")]
    assert len(headings) == 1, headings
    return headings[0]


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]


@pytest.fixture(scope="module")
def walked_app() -> AppTest:
    """The page after its own run button ran the first preset."""
    saved_default_runs().clear()
    at = open_walkthrough()
    at.button(key="walkthrough_run").click().run()
    assert_clean(at)
    return at


@pytest.fixture(scope="module")
def run_result(walked_app):
    return walked_app.session_state["result"]


@pytest.fixture(scope="module")
def fallback_result(embedded_bundle):
    """A short unrelated pair that the threshold of 1.0 sends to a full prefill."""
    params = ss.PipelineParams(similarity_threshold=1.0, max_new_tokens=2)
    return ss.compare(embedded_bundle, "The committee approved the budget for the new library. " * 3,
                      "Octopuses have three hearts and blue blood in their veins. " * 3, params)


def test_without_result_offers_run_button():
    saved_default_runs().clear()
    at = open_walkthrough()

    assert_clean(at)
    assert at.button(key="walkthrough_run").label == "Run the default preset"
    assert not any(item.value.startswith("### Step ") for item in at.markdown)


def test_run_button_stores_result_for_explore(walked_app, run_result, embedded_bundle):
    first = app.presets.load_presets()[0]

    assert isinstance(run_result, ss.RunResult)
    assert walked_app.session_state["run_count"] == 1
    assert run_result.target.token_ids == ss.build_prompt(embedded_bundle, first.target).token_ids
    assert run_result.params == ss.PipelineParams()
    assert step_heading(walked_app) == f"### Step 1 of {N_STEPS}: {STEPS[0].title}"
    assert walked_app.query_params["step"] == "1"


def test_new_session_restores_default_run(walked_app, run_result):
    at = open_walkthrough(step="6")

    assert_clean(at)
    assert at.session_state["result"] is run_result
    assert step_heading(at).startswith(f"### Step 6 of {N_STEPS}:")
    assert any("made earlier on this server" in item.value for item in at.caption)


def test_next_and_previous_visit_every_step(walked_app):
    at = walked_app

    for step in range(1, N_STEPS + 1):
        assert_clean(at)
        assert step_heading(at) == f"### Step {step} of {N_STEPS}: {STEPS[step - 1].title}"
        assert at.query_params["step"] == str(step)
        assert len(at.get("plotly_chart")) >= 1, f"step {step} draws no figure"
        assert at.button(key="walkthrough_previous").disabled == (step == 1)
        assert at.button(key="walkthrough_next").disabled == (step == N_STEPS)
        if step < N_STEPS:
            at.button(key="walkthrough_next").click().run()

    for step in range(N_STEPS - 1, 0, -1):
        at.button(key="walkthrough_previous").click().run()
        assert_clean(at)
        assert step_heading(at).startswith(f"### Step {step} of {N_STEPS}:")
    assert at.session_state["run_count"] == 1


def test_progress_bar_follows_step(run_result):
    at = open_walkthrough(run_result, step="4")

    # Streamlit stores the progress as a whole percentage.
    assert at.get("progress")[0].value == pytest.approx(100 * 4 / N_STEPS, abs=1)


@pytest.mark.parametrize("step", range(1, N_STEPS + 1))
def test_url_step_opens_that_step(run_result, step):
    at = open_walkthrough(run_result, step=str(step))

    assert_clean(at)
    assert not at.warning, [item.value for item in at.warning]
    assert step_heading(at).startswith(f"### Step {step} of {N_STEPS}:")
    assert len(at.get("plotly_chart")) >= 1


def test_url_without_step_keeps_last_step(run_result):
    at = open_walkthrough(run_result, step="4")
    at.query_params.clear()
    at.run()

    assert_clean(at)
    assert step_heading(at).startswith(f"### Step 4 of {N_STEPS}:")
    assert at.query_params["step"] == "4"


@pytest.mark.parametrize("raw", ["0", str(N_STEPS + 1), "-2", "abc", "2.5", "", "1e3"])
def test_bad_url_step_falls_back_to_first(run_result, raw):
    at = open_walkthrough(run_result, step=raw)

    assert_clean(at)
    assert step_heading(at).startswith(f"### Step 1 of {N_STEPS}:")
    assert any("not a step number" in item.value for item in at.warning)
    assert at.query_params["step"] == "1"


def test_selected_token_is_highlighted(run_result):
    position = run_result.n_target_tokens - 3
    at = open_walkthrough(run_result, step="5", selected_token=position)

    assert_clean(at)
    caption = next(item.value for item in at.caption if "Highlighted token:" in item.value)
    assert f"Highlighted token: {position} " in caption
    assert "selected on Explore" in caption


@pytest.mark.parametrize("selected", [-1, 10**6, "7", 2.0, True])
def test_invalid_selection_uses_first_document_token(run_result, selected):
    at = open_walkthrough(run_result, step="2", selected_token=selected)
    first_document_token = run_result.target.document_span[0]

    assert_clean(at)
    assert any(f"Highlighted token: {first_document_token} " in item.value for item in at.caption)


def test_fallback_run_renders_every_step(fallback_result):
    assert not fallback_result.reused

    for step in range(1, N_STEPS + 1):
        at = open_walkthrough(fallback_result, step=str(step))
        assert not at.exception, (step, [item.value for item in at.exception])
        assert not at.error, (step, [item.value for item in at.error])
        assert len(at.get("plotly_chart")) >= 1, f"step {step} draws no figure"
    # Steps 6 to 9 need reuse and warn when the run fell back.
    at = open_walkthrough(fallback_result, step="7")
    assert any("did not reuse" in item.value for item in at.warning)


def test_first_step_reports_common_prefix(run_result):
    at = open_walkthrough(run_result, step="1")
    shared = common_prefix_length(run_result.reference.token_ids, run_result.target.token_ids)

    assert any(f"share **{shared} of" in item.value for item in at.markdown)


def test_common_prefix_length_cases():
    assert common_prefix_length([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix_length([1, 2], [1, 2, 3]) == 2
    assert common_prefix_length([5], [6]) == 0
    assert common_prefix_length([], [1]) == 0


def test_parse_step_cases():
    assert parse_step(None, 11) == (1, None)
    assert parse_step("3", 11) == (3, None)
    assert parse_step(" 11 ", 11) == (11, None)
    assert parse_step("12", 11)[0] == 1
    assert "not a step number" in parse_step("x", 11)[1]


def test_rope_self_similarity_matches_rotation():
    vector = np.random.default_rng(0).standard_normal(16).astype(np.float32)
    rows = torch.from_numpy(np.tile(vector, (40, 1)))
    rotated = rotate_embeddings(rows, 100.0).numpy()
    expected = rotated[0] @ rotated[37] / (np.linalg.norm(rotated[0]) * np.linalg.norm(rotated[37]))

    assert rope_self_similarity(vector, np.array([0.0, 37.0]), 100.0) == pytest.approx([1.0, expected], abs=1e-5)


def test_picker_default_is_not_a_selection(run_result):
    first_document_token = run_result.target.document_span[0]
    at = open_walkthrough(run_result, step="5", selected_token=first_document_token)

    assert_clean(at)
    caption = next(item.value for item in at.caption if "Highlighted token:" in item.value)
    assert "selected on Explore" not in caption


def test_retention_step_explains_pooled_ranking(run_result):
    at = open_walkthrough(run_result, step="9")

    assert_clean(at)
    text = " ".join(item.value for item in at.markdown)
    assert f"averaged over the {run_result.params.retain_pooling} tokens around it" in text
    assert "less KV memory" in text
