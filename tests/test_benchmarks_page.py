"""AppTest checks of the Benchmarks page: saved results, bad files, and observations for a run."""

import pytest
from streamlit.testing.v1 import AppTest

import app.pages.benchmarks as benchmarks_page
from bench_records import compression_rows, observation_row, part_record, run_row
from semshare_core.bench.report import write_page
from semshare_core.bench.store import save_part

SCRIPT = "from app.pages import benchmarks\nbenchmarks.render()\n"
TIMEOUT_S = 300


def run_page(session_state=None) -> AppTest:
    at = AppTest.from_string(SCRIPT, default_timeout=TIMEOUT_S)
    for key, value in (session_state or {}).items():
        at.session_state[key] = value
    return at.run()


@pytest.fixture
def docs(tmp_path, monkeypatch):
    """A docs folder with saved 'controlled', 'compression' and 'observations' parts and the page built from them."""
    records = {"controlled": part_record("controlled", [run_row(speedup=4.0), run_row(speedup=6.0)]),
               "compression": part_record("compression", compression_rows()),
               "observations": part_record("observations", [observation_row("meeting-a-b-1000")])}
    for part, record in records.items():
        save_part(tmp_path, part, record)
    write_page(tmp_path, records)
    monkeypatch.setattr(benchmarks_page, "DOCS_DIR", tmp_path)
    return tmp_path


def test_page_shows_tables_and_plots(docs):
    at = run_page()

    assert not at.exception, [item.value for item in at.exception]
    assert [tab.label for tab in at.tabs] == ["Key figures", "Plots", "Observations for the current pair"]
    key_figures, plots, current = at.tabs
    summary = key_figures.table[0].value
    assert summary.index.name == "part"
    assert "speedup" in summary.columns
    tables = " ".join(item.value for item in key_figures.markdown)
    assert "| SnapKV |" in tables
    assert "| H2O |" in tables
    assert "median rho" in tables
    assert "mean kept share" in tables
    assert len(plots.get("image")) == 5  # controlled rewrites, three observation plots, the frontier
    assert any("No run yet" in item.value for item in current.info)


def test_page_names_unreadable_file(docs):
    (docs / "bench-results" / "broken.json").write_text("{not json", encoding="utf-8")
    (docs / "bench-results" / "list.json").write_text("[1, 2]", encoding="utf-8")

    at = run_page()

    assert not at.exception, [item.value for item in at.exception]
    warnings = [item.value for item in at.warning]
    assert any("broken.json could not be read" in warning for warning in warnings)
    assert any("list.json is not a benchmark part record" in warning for warning in warnings)
    assert any("| SnapKV |" in item.value for item in at.tabs[0].markdown)


def test_page_without_results(tmp_path, monkeypatch):
    monkeypatch.setattr(benchmarks_page, "DOCS_DIR", tmp_path)

    at = run_page()

    assert not at.exception, [item.value for item in at.exception]
    infos = [item.value for item in at.info]
    assert any("No benchmark results found" in info for info in infos)
    assert any("No benchmark plots found" in info for info in infos)


@pytest.mark.slow
def test_observations_for_current_run(docs, embedded_bundle):
    import semshare_core as ss

    reference = ("The committee reviewed the budget on Tuesday and agreed to fund the new library. "
                 "Members said the old building was too small for the growing town. ") * 5
    target = ("On Tuesday the committee looked at the budget and decided to pay for a new library. "
              "Members said the old building had become too small for the town. ") * 5
    result = ss.compare(embedded_bundle, reference, target,
                        ss.PipelineParams(similarity_threshold=0.0, max_new_tokens=1))

    at = run_page({"result": result})

    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]
    current = at.tabs[2]
    assert len(current.get("plotly_chart")) == 2
    assert any("Median rho" in caption.value for caption in current.caption)
    assert any("55% and 90% of the attention" in caption.value for caption in current.caption)
