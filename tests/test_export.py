"""Export: per-token and per-layer CSV tables of a run, and server-side PNG of a figure."""

import io

import pandas as pd
import plotly.graph_objects as go
import pytest

import semshare_core as ss
from app.export import figure_png, find_chrome
from app.run_tables import layer_table, token_table

REFERENCE = "The council approved a new cycling path along the river, to open next spring."
TARGET = "A new bike path by the river was approved by the council and opens next spring."


@pytest.fixture(scope="module")
def short_run(embedded_bundle):
    return ss.compare(embedded_bundle, REFERENCE, TARGET,
                      ss.PipelineParams(max_new_tokens=1, similarity_threshold=0.0))


@pytest.mark.slow
def test_token_table_rows_and_columns(short_run):
    table = token_table(short_run)
    parsed = pd.read_csv(io.StringIO(table.to_csv(index=False)))

    assert len(parsed) == short_run.n_target_tokens
    assert list(parsed.columns) == list(table.columns)
    assert parsed["matched reference position"].between(0, short_run.n_reference_tokens - 1).all()
    assert parsed["layers retained"].max() <= short_run.n_layers
    assert parsed["in document"].sum() == short_run.target.document_span[1] - short_run.target.document_span[0]


@pytest.mark.slow
def test_layer_table_matches_run(short_run):
    table = layer_table(short_run)

    assert len(table) == short_run.n_layers
    assert table["tokens recomputed"].iloc[0] == short_run.n_target_tokens
    assert table["KV bytes, SemShareKV"].sum() == short_run.kv_bytes_semshare


@pytest.mark.skipif(find_chrome() is None, reason="no Chrome or Chromium on this machine for Kaleido")
def test_figure_png_renders():
    png = figure_png(go.Figure(go.Bar(x=[1, 2], y=[3, 4])).update_layout(height=200), width=300)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_figure_png_without_browser(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("BROWSER_PATH", raising=False)

    with pytest.raises(RuntimeError, match="camera button"):
        figure_png(go.Figure())
