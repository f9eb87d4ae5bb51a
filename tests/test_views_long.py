"""Long prompts: the layer × token heatmaps stay bounded in size and keep what matters."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import test_app_views as hand_made
from app.views import deviation, downsample, recompute

LONG_TARGET = 6000
# Two heatmaps of 3 × 600 cells with hover labels stay well under this size.
MAX_FIGURE_JSON_BYTES = 400_000


@pytest.fixture(scope="module")
def long_result():
    return hand_made.make_result(n_target=LONG_TARGET, n_reference=LONG_TARGET)


def test_column_edges_cover_every_token():
    edges = downsample.column_edges(LONG_TARGET)

    assert len(edges) == downsample.MAX_COLUMNS + 1
    assert edges[0] == 0
    assert edges[-1] == LONG_TARGET
    assert np.all(np.diff(edges) >= 1)


def test_short_prompt_is_not_binned():
    edges = downsample.column_edges(downsample.MAX_COLUMNS)

    assert not downsample.is_binned(edges)
    assert list(edges) == list(range(downsample.MAX_COLUMNS + 1))


def test_column_max_keeps_single_peak():
    values = np.zeros((2, LONG_TARGET))
    values[1, 4321] = 7.0
    edges = downsample.column_edges(LONG_TARGET)

    reduced = downsample.max_per_column(values, edges)

    assert reduced.shape == (2, downsample.MAX_COLUMNS)
    assert reduced.max() == 7.0
    column = np.searchsorted(edges, 4321, side="right") - 1
    assert reduced[1, column] == 7.0


@pytest.mark.parametrize("log_scale", [False, True])
def test_long_deviation_figure_is_bounded(long_result, log_scale):
    figure = deviation.deviation_figure(long_result, log_scale=log_scale, percentile=99)

    for trace in figure.data:
        assert np.shape(trace.z) == (hand_made.N_LAYERS, downsample.MAX_COLUMNS)
    assert len(figure.to_json()) < MAX_FIGURE_JSON_BYTES
    assert "max " in figure.data[0].hovertemplate


def test_long_state_grid_counts_every_entry(long_result):
    figure = recompute.state_grid_figure(long_result)
    customdata = np.asarray(figure.data[0].customdata)

    assert np.shape(figure.data[0].z) == (hand_made.N_LAYERS, downsample.MAX_COLUMNS)
    counts = customdata[:, :, 1:].astype(int).sum(axis=(1, 2))
    assert list(counts) == [LONG_TARGET] * hand_made.N_LAYERS
    assert len(figure.to_json()) < MAX_FIGURE_JSON_BYTES


def render_recompute_view(result):
    from app.views import recompute

    recompute.render(result)


def test_long_shaded_text_is_windowed(long_result):
    at = AppTest.from_function(render_recompute_view, args=(long_result,), default_timeout=60).run()

    assert not at.exception, [item.value for item in at.exception]
    window = at.slider(key="recompute_text_start")
    assert window.value == long_result.target.document_span[0]
    html = at.get("html")[0].proto.body
    assert html.count("<span title=") == recompute.MAX_SHADED_TOKENS

    window.set_value(3900).run()
    html = at.get("html")[0].proto.body
    assert html.count("<span title=") == recompute.MAX_SHADED_TOKENS
    assert 'title="token 3900:' in html
    assert 'title="token 3899:' not in html
