"""Linked selection, the embedding map, instant view controls and the previous-run comparison.

The fast tests use hand-made results. The slow ones share one real run of the embedded
model through the whole app, and the last of them makes a second run.
"""

import json
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import app.presets
import test_app_views as hand_made
from app import linked
from app.views import compare, deviation, embedding_map, recompute

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
TIMEOUT_S = 300


# Pure helpers on hand-made results

@pytest.mark.parametrize("layers, expected", [
    ([], "none"),
    ([4], "4"),
    ([0, 1, 2, 3], "0-3"),
    ([0, 1, 2, 3, 7, 9, 10, 11], "0-3, 7, 9-11"),
])
def test_layer_ranges(layers, expected):
    assert linked.layer_ranges(np.array(layers, dtype=int)) == expected


@pytest.mark.parametrize("points, expected", [
    ([], None),
    ([{"x": 3.0, "y": 1.0}], None),
    ([{"customdata": 7}], 7),
    ([{"customdata": [12, "extra"]}], 12),
    ([{"x": 1.0}, {"customdata": [5]}], 5),
    ([{"customdata": ["not a number"]}], None),
])
def test_token_from_points(points, expected):
    assert linked.token_from_points(points) == expected


def test_token_facts_match_result():
    result = hand_made.make_result()
    facts = linked.token_facts(result, 5)

    assert facts["token"] == result.target.tokens[5]
    assert facts["match"] == result.mapping[5]
    assert facts["distance"] == pytest.approx(result.match_distance[5])
    assert list(facts["recomputed_layers"]) == list(np.flatnonzero(result.recomputed[:, 5]))
    assert list(facts["kept_layers"]) == list(np.flatnonzero(result.retained[:, 5]))


def test_markdown_token_escapes_markup():
    result = hand_made.make_result()

    assert linked.markdown_token(result, 1) == "1: \\<b\\>"


def test_line_positions_downsample_long_targets():
    short = embedding_map.line_positions(100, selected=None)
    long = embedding_map.line_positions(5000, selected=4321)

    assert list(short) == list(range(100))
    assert len(long) <= embedding_map.MAX_LINES + 1
    assert 4321 in long
    assert long[0] == 0
    assert long[-1] == 4999


def test_map_figure_highlights_selection():
    result = hand_made.make_result()
    points = np.random.default_rng(1).random((result.n_reference_tokens + result.n_target_tokens, 2))
    figure = embedding_map.map_figure(result, points, selected=6)
    by_name = {trace.name: trace for trace in figure.data}

    selected_trace = by_name["selected token 6 and its match"]
    target_point = points[result.n_reference_tokens + 6]
    match_point = points[result.mapping[6]]
    assert list(selected_trace.x) == [target_point[0], match_point[0]]
    assert list(selected_trace.y) == [target_point[1], match_point[1]]
    assert list(by_name["target tokens"].customdata) == list(range(result.n_target_tokens))
    assert by_name["reference tokens"].customdata is None
    assert json.loads(figure.to_json())["data"]


def test_figures_mark_selected_token():
    result = hand_made.make_result()

    grid = recompute.state_grid_figure(result, selected=4)
    heatmaps = deviation.deviation_figure(result, log_scale=False, percentile=99, selected=4)
    profile = deviation.layer_profile_figure(result, layer=1, selected=4)
    token_chart = deviation.token_deviation_figure(result, 4)

    assert [shape.x0 for shape in grid.layout.shapes] == [4]
    assert {shape.x0 for shape in heatmaps.layout.shapes} == {4}
    assert [shape.x0 for shape in profile.layout.shapes] == [4]
    assert list(token_chart.data[1].y) == list(result.kv_deviation_after[:, 4])


def test_shaded_text_outlines_selected_token():
    page = recompute.shaded_text_html(hand_made.make_result(), 0, 12, selected=5)

    assert page.count("outline: 2px solid black") == 1
    assert "token 5:" in page.split("outline: 2px solid black")[0].rsplit("<span", 1)[1]


def test_setting_differences_list_changed_values():
    previous, current = hand_made.make_result(), hand_made.make_result()
    current.params = type(current.params)(hd_fraction=0.2)
    current.target.text = "another target"

    table = compare.setting_differences(previous, current)

    assert list(table["setting"]) == ["target prompt", "High-deviation share at layer 0"]
    assert table.iloc[1]["this run"] == "0.2"


def test_setting_differences_empty_for_same_settings():
    assert compare.setting_differences(hand_made.make_result(), hand_made.make_result()).empty


def test_metric_table_shows_perplexity_when_measured():
    previous, current = hand_made.make_result(), hand_made.make_result()
    current.extras = {"perplexity_full": 12.5, "perplexity_semshare": 13.25}

    table = compare.metric_table(previous, current).set_index("metric")

    assert table.loc["perplexity, full / SemShareKV", "this run"] == "12.50 / 13.25"
    assert table.loc["perplexity, full / SemShareKV", "previous run"] == "not measured"
    assert table.loc["prefill speedup", "this run"] == "4.00×"


def test_recompute_share_figure_has_both_runs():
    previous, current = hand_made.make_result(), hand_made.make_result()
    current.recomputed = np.ones_like(current.recomputed)
    figure = compare.recompute_share_figure(previous, current)

    assert [trace.name for trace in figure.data] == ["previous run", "this run"]
    assert list(figure.data[0].y) == list(previous.recomputed.mean(axis=1))
    assert list(figure.data[1].y) == [1.0] * hand_made.N_LAYERS


def markdown_values(at) -> list[str]:
    return [markdown.value for markdown in at.markdown]


def test_card_entries_escape_and_list_layers():
    result = hand_made.make_result()
    result.recomputed[:, 1] = [True, True, False]
    result.retained[:, 1] = [True, False, True]
    card = dict(linked.card_entries(result, 1))

    assert card["Target token"] == "1: \\<b\\>"
    assert card["Recomputed in"] == "2 of 3 layers (0-1)"
    assert card["Kept in"] == "2 of 3 layers (0, 2)"


def render_results_with_selection(result, selected):
    import streamlit as st

    from app.results import render_results

    st.session_state.setdefault("selected_token", selected)
    render_results(result, is_stale=False)


def test_picker_moves_selection_on_hand_made_result():
    result = hand_made.make_result(n_target=300, n_reference=280)
    at = AppTest.from_function(render_results_with_selection, args=(result, 3), default_timeout=60).run()
    assert at.selectbox(key="token_picker").value == 3

    at.selectbox(key="token_picker").set_value(250).run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.session_state["selected_token"] == 250
    assert "**250: ·w246**" in markdown_values(at)
    # The alignment window moved so that it shows the selected token.
    start, width = at.slider(key="alignment_start").value, at.slider(key="alignment_width").value
    assert start <= 250 < start + width


def test_selection_clamped_to_shorter_result():
    at = AppTest.from_function(render_results_with_selection, args=(hand_made.make_result(), 999),
                               default_timeout=60).run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.session_state["selected_token"] == 11


# One real run through the whole app

def chart_spec(at, key: str) -> dict:
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(key) or key in chart.proto.id:
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart with key {key!r}")


def trace_names(spec: dict) -> list[str]:
    return [trace.get("name") for trace in spec["data"]]


@pytest.fixture(scope="module")
def app_after_run() -> AppTest:
    if not app.presets.load_presets():
        pytest.skip("assets/presets holds no preset")
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()
    at.sidebar.slider(key="param_max_new_tokens").set_value(4)
    at.sidebar.slider(key="param_similarity_threshold").set_value(0.0)
    at.button(key="run").click().run()
    assert not at.exception, [item.value for item in at.exception]
    assert at.session_state["run_count"] == 1
    return at


@pytest.mark.slow
def test_layer_slider_does_not_rerun_model(app_after_run):
    at = app_after_run
    result_before = at.session_state["result"]

    at.slider(key="deviation_layer").set_value(5)
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    # AppTest reruns the whole page here; a browser reruns only the fragment.
    print(f"\nlayer slider change, whole page rerun in AppTest: {seconds:.2f} s "
          f"for {result_before.n_target_tokens} target tokens")

    assert not at.exception, [item.value for item in at.exception]
    assert at.session_state["run_count"] == 1
    assert at.session_state["result"] is result_before
    assert chart_spec(at, "deviation_layer_profile")["layout"]["yaxis"]["title"]["text"] == \
        "relative deviation, layer 5"


@pytest.mark.slow
def test_picker_highlights_token_in_every_view(app_after_run):
    at = app_after_run
    result = at.session_state["result"]
    position = result.target.document_span[0] + 7
    facts = linked.token_facts(result, position)

    at.selectbox(key="token_picker").set_value(position).run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.session_state["selected_token"] == position
    assert at.session_state["run_count"] == 1
    card = dict(linked.card_entries(result, position))
    assert card["Target token"].startswith(f"{position}:")
    assert card["Match in reference"].startswith(f"{facts['match']}:")
    assert card["Hamming distance"] == f"{facts['distance']:.1f} bits"
    assert card["Recomputed in"].startswith(f"{len(facts['recomputed_layers'])} of {result.n_layers} layers")
    assert card["Kept in"].startswith(f"{len(facts['kept_layers'])} of {result.n_layers} layers")
    for value in card.values():
        assert f"**{value}**" in markdown_values(at)

    overview = chart_spec(at, "alignment_overview")
    assert f"selected token {position}" in trace_names(overview)
    window = chart_spec(at, "alignment_window")
    assert any(trace.get("line", {}).get("width") == 4 for trace in window["data"])
    heatmaps = chart_spec(at, "deviation_heatmaps")
    assert {shape["x0"] for shape in heatmaps["layout"]["shapes"]} == {position}
    token_chart = chart_spec(at, "deviation_selected_token")
    assert token_chart["layout"]["title"]["text"].startswith(f"Selected token {position}:")
    grid = chart_spec(at, "recompute_grid")
    assert [shape["x0"] for shape in grid["layout"]["shapes"]] == [position]
    assert any(f"{linked.layer_ranges(facts['recomputed_layers'])}; kept" in markdown.value
               for markdown in at.markdown)


@pytest.mark.slow
def test_embedding_map_draws_after_click(app_after_run):
    at = app_after_run
    result = at.session_state["result"]
    selected = at.session_state["selected_token"]

    at.button(key="embedding_map_compute").click().run()

    assert not at.exception, [item.value for item in at.exception]
    spec = chart_spec(at, "embedding_map")
    names = trace_names(spec)
    assert names[:3] == ["match", "reference tokens", "target tokens"]
    assert f"selected token {selected} and its match" in names
    assert at.session_state["run_count"] == 1

    at.toggle(key="embedding_map_rotated").set_value(not result.params.rope_in_matching).run()

    assert not at.exception, [item.value for item in at.exception]
    assert chart_spec(at, "embedding_map")["data"][1]["name"] == "reference tokens"
    assert any("other setting" in caption.value for caption in at.caption)
    assert at.session_state["run_count"] == 1


@pytest.mark.slow
def test_second_run_offers_comparison(app_after_run):
    at = app_after_run
    first = at.session_state["result"]
    assert not any(expander.label == "Compare with previous run" for expander in at.expander)

    at.sidebar.slider(key="param_hd_fraction").set_value(0.2).run()
    at.button(key="run").click().run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.session_state["run_count"] == 2
    assert at.session_state["previous_result"] is first
    comparison = next(expander for expander in at.expander if expander.label == "Compare with previous run")
    settings, metrics = comparison.dataframe[0].value, comparison.dataframe[1].value
    assert "High-deviation share at layer 0" in list(settings["setting"])
    assert {"prefill speedup", "recompute share", "KV memory saved", "first token agrees",
            "ROUGE-L of the outputs"} <= set(metrics["metric"])
    share = chart_spec(at, "compare_recompute_share")
    assert trace_names(share) == ["previous run", "this run"]


# Clicks in a real browser, on a hand-made result

LINKED_APP = Path(__file__).resolve().parent / "linked_views_app.py"


@pytest.fixture(scope="module")
def linked_app_browser():
    import test_browser as browser_helpers

    if not (browser_helpers.CHROMIUM.exists() and browser_helpers.CHROMEDRIVER.exists()):
        pytest.skip(f"{browser_helpers.CHROMIUM} or {browser_helpers.CHROMEDRIVER} is missing")
    artifacts = browser_helpers.REPO_ROOT / "test-artifacts" / "linked"
    artifacts.mkdir(parents=True, exist_ok=True)
    with serve_script(LINKED_APP, artifacts / "streamlit.log") as url:
        driver = browser_helpers.start_chromium(artifacts / "chromedriver.log")
        try:
            driver.get(url)
            browser_helpers.wait_until(
                driver, lambda d: browser_helpers.script_state(d) == "notRunning"
                and d.find_elements("css selector", browser_helpers.PLOTLY_SELECTOR),
                120, "the linked-selection app did not finish its first run")
            yield driver, artifacts
        finally:
            driver.quit()


@contextmanager
def serve_script(script: Path, log_path: Path):
    """Start `streamlit run script` on a free loopback port, like the app server of tests/test_browser.py."""
    import test_browser as browser_helpers

    port = browser_helpers.find_free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    with open(log_path, "w", encoding="utf-8") as log_file:
        process = subprocess.Popen(command, cwd=browser_helpers.REPO_ROOT, stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base_url = f"http://127.0.0.1:{port}"
        browser_helpers.wait_for_health(f"{base_url}/_stcore/health", process, log_path)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=15)


POINT_PIXELS_JS = """
const plot = document.querySelector(arguments[0]);
const layout = plot._fullLayout, trace = plot._fullData[arguments[1]];
const x = trace.x[arguments[2]], y = trace.y[arguments[2]];
return [layout.xaxis._offset + layout.xaxis.l2p(x), layout.yaxis._offset + layout.yaxis.l2p(y)];
"""


def click_point(driver, chart_key: str, trace_index: int, point_index: int) -> None:
    """Hover, then click one point of a Plotly chart, at pixels computed by Plotly's own axes."""
    import test_browser as browser_helpers
    from selenium.webdriver.common.action_chains import ActionChains

    selector = f".st-key-{chart_key} .js-plotly-plot"
    plot = driver.find_element("css selector", selector)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", plot)
    time.sleep(0.5)
    x, y = driver.execute_script(POINT_PIXELS_JS, selector, trace_index, point_index)
    size = plot.size
    # Selenium offsets are from the element's centre; Plotly needs a hover before a click.
    ActionChains(driver).move_to_element_with_offset(plot, x - size["width"] / 2, y - size["height"] / 2) \
        .pause(0.7).click().perform()
    time.sleep(1.5)
    browser_helpers.wait_for_idle_script(driver, 60, f"rerun after a click in {chart_key} did not finish")
    time.sleep(0.5)


def picker_html(driver) -> str:
    # The chosen option is drawn inside the picker but is not part of its innerText.
    return driver.find_element("css selector", ".st-key-token_picker").get_attribute("innerHTML")


def trace_with_customdata(driver, chart_key: str) -> int:
    return driver.execute_script(
        "return document.querySelector(arguments[0])._fullData"
        ".findIndex(trace => trace.customdata && trace.mode.includes('markers'));",
        f".st-key-{chart_key} .js-plotly-plot")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("chart_key, point_index", [
    ("alignment_overview", 40),
    ("alignment_window", 20),
    ("deviation_layer_profile", 150),
])
def test_click_selects_token(linked_app_browser, chart_key, point_index):
    import test_browser as browser_helpers

    driver, artifacts = linked_app_browser
    trace_index = trace_with_customdata(driver, chart_key)
    position = driver.execute_script(
        "return document.querySelector(arguments[0])._fullData[arguments[1]].customdata[arguments[2]];",
        f".st-key-{chart_key} .js-plotly-plot", trace_index, point_index)

    click_point(driver, chart_key, trace_index, point_index)

    assert browser_helpers.exception_texts(driver) == []
    # The option text "index: token" sits in an attribute of the picker's input.
    assert re.search(rf"(?<![0-9]){position}: ", picker_html(driver))
    browser_helpers.save_main_block_screenshot(driver, artifacts / f"click-{chart_key}.png")
