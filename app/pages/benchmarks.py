"""Benchmarks page: the saved benchmark plots and key tables, and observations 1 and 2 for the current run."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
import torch

import semshare_core as ss
from app import benchmark_results as results
from app.model_loader import try_load_bundle
from app.observation_charts import rank_correlation_chart, recovery_chart
from app.operator_settings import load_operator_settings
from app.runner import RESULT_KEY
from app.views.charts import show_chart
from semshare_core import limits
from semshare_core.bench.observation_report import rank_table, recovery_table, retention_table
from semshare_core.observations import OBSERVATION_WINDOW, RECOVERY_THRESHOLDS, adjacent_rank_correlation, recovery_by_layer

logger = logging.getLogger(__name__)

# The folder whose bench-results/ and img/ the page shows; tests point it elsewhere.
DOCS_DIR = results.DOCS_DIR


def render() -> None:
    st.title("Benchmarks")
    st.caption("SemShareKV against the full prefill, SnapKV and H2O on real paired texts, measured by "
               "`python -m semshare_core bench` and saved under docs/. Timings depend on the load of the "
               "machine they ran on; each table names it.")
    records, problems = _records(DOCS_DIR)
    for problem in problems:
        st.warning(problem)

    key_figures, plots, current = st.tabs(["Key figures", "Plots", "Observations for the current pair"])
    with key_figures:
        _key_figures(records)
    with plots:
        _plots(DOCS_DIR)
    with current:
        _current_pair()


def _records(docs: Path) -> tuple[dict[str, dict], list[str]]:
    return _load_records(str(docs), results.results_signature(docs))


@st.cache_data(show_spinner=False, max_entries=4)
def _load_records(docs: str, signature: tuple) -> tuple[dict[str, dict], list[str]]:
    """Read the part files; `signature` (names and modification times) makes a changed file reload."""
    return results.load_records(Path(docs))


def _key_figures(records: dict[str, dict]) -> None:
    if not records:
        st.info(f"No benchmark results found in {DOCS_DIR / 'bench-results'}. Run "
                "`python -m semshare_core bench` (or `make bench`) to create them.")
        return
    st.subheader("SemShareKV runs by part")
    st.caption("Median [min-max] over every SemShareKV run of each part. Speedup is the full prefill's time "
               "over SemShareKV's; perplexity ratio is SemShareKV's continuation perplexity over the full "
               "prefill's.")
    summary = results.summary_table(records)
    if summary:
        # A static table wraps its headers, so all columns fit without scrolling sideways.
        st.table(pd.DataFrame(summary).set_index("part"))

    if "compression" in records:
        st.subheader("SnapKV and H2O at SemShareKV's KV budget")
        st.caption("Single-prompt compression after a full prefill, keeping as many tokens per layer as "
                   "SemShareKV's retention. Measured by " + results.run_description(records["compression"]))
        for pair, table in results.compression_tables(records["compression"]):
            st.markdown(f"Pair `{pair}`:\n\n{table}")

    if "observations" in records:
        rows = [row for row in records["observations"]["rows"] if row.get("kind") == "observations"]
        st.subheader("The three observations")
        st.caption("Measured by " + results.run_description(records["observations"]))
        st.markdown("**1. Rank correlation of per-token KV deviation between adjacent layers**\n\n" + rank_table(rows))
        st.markdown("**2. Tokens holding 55% and 90% of the attention of the last prompt queries**\n\n"
                    + recovery_table(rows))
        st.markdown("**3. Continuation perplexity under retention schedules of equal total**\n\n"
                    + retention_table(rows))


def _plots(docs: Path) -> None:
    paths = results.plot_paths(docs)
    if not paths:
        st.info(f"No benchmark plots found in {docs / 'img'}. `python -m semshare_core bench` writes them.")
        return
    for path in paths:
        st.image(str(path), caption=results.plot_caption(path))


def _current_pair() -> None:
    result = st.session_state.get(RESULT_KEY)
    if result is None:
        st.info("No run yet: run a comparison on the Explore page, then come back to see observations 1 and 2 "
                "for its target.")
        return
    st.caption(f"Target of the current run: {result.n_target_tokens:,} tokens, model {result.model_name}.")

    left, right = st.columns(2)
    with left:
        _rank_correlation(result)
    with right:
        _recovery(result)


def _rank_correlation(result: ss.RunResult) -> None:
    if not result.reused:
        st.info("This run fell back to a full prefill, so it reused no cache and has no deviation to rank.")
        return
    rhos = adjacent_rank_correlation(result.kv_deviation_before)
    show_chart(rank_correlation_chart(rhos), key="benchmarks_rank_correlation")
    if np.isnan(rhos).all():
        st.caption("No layer has varying deviations, so there is no ranking to correlate.")
        return
    st.caption(f"Median rho {np.nanmedian(rhos):.2f}. High values mean the tokens that deviate most at one "
               "layer also deviate most at the next, so a recompute set chosen at one layer stays a good "
               "choice further down.")


def _recovery(result: ss.RunResult) -> None:
    bundle = _bundle_for(result)
    if bundle is None:
        return
    try:
        with st.spinner("Computing the attention of the last prompt queries in every layer…"):
            counts = _recovery_counts(bundle, result.model_name, tuple(result.target.token_ids))
    except (ss.SemShareError, RuntimeError) as error:
        logger.exception("Attention recovery failed for a %d-token target", result.n_target_tokens)
        st.error(f"Could not compute the attention recovery: {error}")
        return
    show_chart(recovery_chart(RECOVERY_THRESHOLDS, counts, result.n_target_tokens), key="benchmarks_recovery")
    st.caption(f"The fewest tokens that hold 55% and 90% of the attention the last "
               f"{min(OBSERVATION_WINDOW, result.n_target_tokens)} prompt tokens give, averaged over them and "
               "all heads, from a full prefill of the target. Lower in deeper layers means those layers "
               "attend to fewer tokens, so their caches can keep fewer.")


def _bundle_for(result: ss.RunResult) -> ss.ModelBundle | None:
    """Load the run's model through the app's cache, as the Explore page named it."""
    name = None if limits.is_embedded(result.model_name) else result.model_name
    device = torch.device(result.device).type
    return try_load_bundle(name, device, load_operator_settings())


@st.cache_data(show_spinner=False, max_entries=8)
def _recovery_counts(_bundle: ss.ModelBundle, model_name: str, token_ids: tuple[int, ...]) -> np.ndarray:
    """Compute attention recovery counts (thresholds, layers) of one target, cached per model and target."""
    ids = torch.tensor(token_ids, device=_bundle.device)
    return recovery_by_layer(_bundle.model, ids, RECOVERY_THRESHOLDS).counts
