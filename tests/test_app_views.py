"""Fast checks of the app's figure builders and helpers on small hand-made results.

No model runs here: each RunResult is built from arrays that follow the documented
shapes, so edge cases (a fallback, a short target, markup in tokens) run in milliseconds.
"""

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import semshare_core as ss
from app import presets, sidebar
from app.param_specs import SPECS, param_fields
from app.views import alignment, deviation, outputs, recompute, speed

N_LAYERS = 3


def make_prompt(tokens: list[str]) -> ss.PromptInfo:
    return ss.PromptInfo(text="".join(tokens), token_ids=list(range(len(tokens))), tokens=tokens,
                         document_span=(1, len(tokens) - 1))


def make_result(n_target: int = 12, n_reference: int = 10, reused: bool = True) -> ss.RunResult:
    rng = np.random.default_rng(0)
    target_tokens = ["<|im_start|>", "<b>", " & ", "\n"] + [f" w{i}" for i in range(n_target - 4)]
    reference_tokens = [f" r{i}" for i in range(n_reference)]
    recomputed = rng.random((N_LAYERS, n_target)) < 0.3
    recomputed[:, -1] = True
    retained = rng.random((N_LAYERS, n_target)) < 0.7
    return ss.RunResult(
        model_name="hand-made", device="cpu", dtype="float32", params=ss.PipelineParams(),
        reference=make_prompt(reference_tokens), target=make_prompt(target_tokens), n_layers=N_LAYERS,
        similarity=0.9 if reused else 0.2, lexical_similarity=0.1, reused=reused,
        fallback_reason=None if reused else "Prompt similarity 0.20 is below the threshold 0.80.",
        mapping=rng.integers(0, n_reference, n_target), match_distance=rng.random(n_target) * 30,
        recomputed=recomputed, retained=retained, hd_tokens=np.arange(3),
        kv_deviation_before=rng.random((N_LAYERS, n_target)) if reused else np.zeros((N_LAYERS, n_target)),
        kv_deviation_after=rng.random((N_LAYERS, n_target)) / 2 if reused else np.zeros((N_LAYERS, n_target)),
        attention_deviation=rng.random(N_LAYERS),
        output_full="The cat <sat> on the mat.", output_semshare="The dog <sat> on a mat.",
        output_tokens_full=["The", " cat", " <sat>"], output_tokens_semshare=["The", " dog", " <sat>"],
        first_token_probs_full=[ss.TokenProb("The", 1, 0.6), ss.TokenProb("<A>", 2, 0.2)],
        first_token_probs_semshare=[ss.TokenProb("The", 1, 0.5), ss.TokenProb("In", 3, 0.3)],
        max_abs_logit_diff=1.5, first_token_agree=True, rouge_l_outputs=0.6,
        prefill_seconds_full=2.0, prefill_seconds_semshare=0.5, reference_prefill_seconds=2.1,
        phase_seconds={"matching": 0.1, "layers": 0.4}, decode_seconds_full=1.0, decode_seconds_semshare=1.0,
        kv_bytes_per_layer_full=np.full(N_LAYERS, 1000), kv_bytes_per_layer_semshare=np.array([1000, 700, 500]),
        peak_rss_bytes=2 ** 30)


FIGURE_BUILDERS = {
    "alignment overview": lambda result: alignment.overview_figure(result),
    "alignment window": lambda result: alignment.window_figure(result, 0, result.n_target_tokens),
    "deviation linear": lambda result: deviation.deviation_figure(result, log_scale=False, percentile=99),
    "deviation log": lambda result: deviation.deviation_figure(result, log_scale=True, percentile=100),
    "attention deviation": lambda result: deviation.attention_deviation_figure(result),
    "rank correlation": lambda result: deviation.rank_correlation_figure(
        deviation.adjacent_rank_correlation(np.asarray(result.kv_deviation_before))),
    "state grid": lambda result: recompute.state_grid_figure(result),
    "state counts": lambda result: recompute.state_counts_figure(result),
    "first token": lambda result: outputs.first_token_figure(result),
    "prefill time": lambda result: speed.prefill_time_figure(result),
    "phase time": lambda result: speed.phase_time_figure(result),
    "kv bytes": lambda result: speed.kv_bytes_figure(result),
}


def render_results_page(result):
    from app.results import render_results

    render_results(result, is_stale=False)


@pytest.mark.parametrize("reused", [True, False], ids=["reused", "fallback"])
def test_results_page_renders_all_views(reused):
    result = make_result(reused=reused)
    result.cuda_memory = {"max_memory_allocated": 3 * 2 ** 20, "max_memory_reserved": 4 * 2 ** 20}
    at = AppTest.from_function(render_results_page, args=(result,), default_timeout=30).run()

    assert not at.exception, [item.value for item in at.exception]
    assert len(at.tabs) == 6
    for tab in at.tabs:
        if tab.label == "Embedding map":
            continue  # draws after a button click; tests/test_linked_views.py covers it
        assert len(tab.get("plotly_chart")) >= 1, f"tab {tab.label!r} has no Plotly chart"
    metric_labels = [metric.label for metric in at.metric]
    assert "max memory allocated" in metric_labels
    assert any("fell back" in warning.value for warning in at.warning) == (not reused)


@pytest.mark.parametrize("reused", [True, False], ids=["reused", "fallback"])
@pytest.mark.parametrize("name", list(FIGURE_BUILDERS))
def test_figure_builds_and_serializes(name, reused):
    figure = FIGURE_BUILDERS[name](make_result(reused=reused))

    assert len(figure.data) >= 1
    assert json.loads(figure.to_json())["data"]


def test_window_figure_escapes_token_markup():
    figure = alignment.window_figure(make_result(), 0, 12)
    label_texts = [annotation.text for annotation in figure.layout.annotations]

    assert "&lt;b&gt;" in label_texts
    assert "<b>" not in label_texts


def test_deviation_scale_handles_all_zero():
    figure = deviation.deviation_figure(make_result(reused=False), log_scale=False, percentile=99)

    assert figure.layout.coloraxis.cmax > figure.layout.coloraxis.cmin


def test_rank_correlation_of_constant_layers_is_nan():
    rhos = deviation.adjacent_rank_correlation(np.zeros((4, 10)))

    assert rhos.shape == (3,)
    assert np.isnan(rhos).all()


def test_rank_correlation_of_equal_rankings_is_one():
    values = np.tile(np.arange(10.0), (3, 1)) * np.array([[1.0], [2.0], [3.0]])

    assert np.allclose(deviation.adjacent_rank_correlation(values), 1.0)


def test_cache_states_eviction_wins():
    result = make_result()
    states = recompute.cache_states(result)

    assert states.shape == (N_LAYERS, result.n_target_tokens)
    assert (states[~result.retained] == recompute.EVICTED).all()
    assert (states[result.retained & result.recomputed] == recompute.RECOMPUTED).all()
    assert (states[result.retained & ~result.recomputed] == recompute.REUSED).all()


def test_shaded_text_escapes_tokens():
    page = recompute.shaded_text_html(make_result(), 0, 4)

    assert "&lt;b&gt;" in page
    assert "&amp;" in page
    assert "<b>" not in page
    assert "&lt;|im_start|&gt;" in page


def test_word_diff_marks_and_escapes():
    full_html, semshare_html = outputs.word_diff_html("The cat <sat> on the mat.", "The dog <sat> on a mat.")

    assert "line-through\">cat </span>" in full_html
    assert "underline\">dog </span>" in semshare_html
    assert "&lt;sat&gt;" in full_html
    assert "<sat>" not in semshare_html


def test_word_diff_of_equal_texts_has_no_marks():
    full_html, semshare_html = outputs.word_diff_html("same words here", "same words here")

    assert full_html == "same words here"
    assert semshare_html == "same words here"


@pytest.mark.parametrize("full_tokens, semshare_tokens, expected", [
    (["a", "b"], ["a", "b"], None),
    (["a", "b"], ["a", "c"], 1),
    (["a", "b", "c"], ["a", "b"], 2),
    ([], [], None),
])
def test_first_divergence(full_tokens, semshare_tokens, expected):
    assert outputs.first_divergence(full_tokens, semshare_tokens) == expected


def test_similarity_sentence_reads_both_scores():
    sentence = alignment.similarity_sentence(make_result())

    assert "semantically close" in sentence
    assert "lexically far" in sentence


def test_presets_missing_folder_is_empty(tmp_path):
    assert presets.load_presets(tmp_path / "missing") == []


def test_presets_skip_invalid_files(tmp_path):
    (tmp_path / "01-good.json").write_text(json.dumps(
        {"name": "Good", "description": "d", "reference": "r", "target": "t"}), encoding="utf-8")
    (tmp_path / "02-broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "03-missing-key.json").write_text(json.dumps({"name": "No texts"}), encoding="utf-8")

    loaded = presets.load_presets(tmp_path)

    assert [preset.name for preset in loaded] == ["Good"]


def test_presets_sorted_by_file_name(tmp_path):
    for file_name, name in (("02-b.json", "Second"), ("01-a.json", "First")):
        (tmp_path / file_name).write_text(json.dumps(
            {"name": name, "description": "", "reference": "r", "target": "t"}), encoding="utf-8")

    assert [preset.name for preset in presets.load_presets(tmp_path)] == ["First", "Second"]


def test_every_param_has_a_spec():
    missing = [field.name for field in param_fields() if field.name not in SPECS]

    assert missing == []


@pytest.mark.parametrize("field", param_fields(), ids=lambda field: field.name)
def test_param_default_fits_its_widget(field):
    spec = SPECS[field.name]

    if spec.kind == "select_slider":
        assert field.default in spec.options
    if spec.kind in ("slider", "number"):
        assert spec.min_value <= field.default <= spec.max_value


def test_widen_adds_unknown_default():
    spec = sidebar.widen_to_include(SPECS["lsh_bits"], 96)

    assert 96 in spec.options
    assert list(spec.options) == sorted(spec.options)


def render_alignment_page(result):
    from app.views import alignment

    alignment.render(result)


def test_window_start_survives_width_changes():
    at = AppTest.from_function(render_alignment_page, args=(make_result(n_target=454, n_reference=430),),
                               default_timeout=30).run()
    at.slider(key="alignment_start").set_value(374).run()

    at.slider(key="alignment_width").set_value(150).run()
    assert at.slider(key="alignment_start").value == 304

    at.slider(key="alignment_width").set_value(40).run()
    assert at.slider(key="alignment_start").value == 304
    assert not at.exception, [item.value for item in at.exception]


def test_short_target_has_no_window_sliders():
    at = AppTest.from_function(render_alignment_page, args=(make_result(n_target=20),), default_timeout=30).run()

    assert not at.exception, [item.value for item in at.exception]
    assert len(at.slider) == 0
    assert len(at.get("plotly_chart")) == 2
