"""Export: per-token and per-layer CSV tables of a run, and server-side PNG of a figure."""

import io
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

import semshare_core as ss
from app.export import figure_png, find_chrome
from app.run_tables import layer_table, token_table
from app.runner import RESULT_KEY

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"

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


@pytest.mark.slow
@pytest.mark.skipif(find_chrome() is None, reason="no Chrome or Chromium on this machine for Kaleido")
def test_explore_exports_png_and_csv(short_run):
    at = AppTest.from_file(str(APP_PATH), default_timeout=300).run()
    at.session_state[RESULT_KEY] = short_run
    at.run()
    at.selectbox(key="png_figure").set_value("Tokens per state and layer").run()
    at.button(key="png_export_prepare").click().run()

    assert not at.exception, [item.value for item in at.exception]
    assert not at.warning, [item.value for item in at.warning]
    labels = [button.proto.label for button in at.get("download_button")]
    assert "Per-token table (CSV)" in labels
    assert "Per-layer table (CSV)" in labels
    assert "Download figure (PNG)" in labels
