"""Results area: headline metrics, the selected token and the views, drawn from the stored RunResult."""

from __future__ import annotations

import streamlit as st

import semshare_core as ss
from app import linked
from app.runner import PREVIOUS_RESULT_KEY
from app.summary import render_download, render_summary
from app.views import alignment, compare, deviation, embedding_map, outputs, recompute, speed

VIEWS = (
    ("Token alignment", alignment.render),
    ("Per-layer deviation", deviation.render),
    ("Reused / recomputed / evicted", recompute.render),
    ("Output difference", outputs.render),
    ("Speed and memory", speed.render),
    ("Embedding map", embedding_map.render),
)


def render_results(result: ss.RunResult, is_stale: bool) -> None:
    st.divider()
    st.subheader("Results")
    render_summary(result, is_stale)
    linked.render_selection(result)
    tabs = st.tabs([title for title, _ in VIEWS], key="result_tabs")
    for tab, (_, render_view) in zip(tabs, VIEWS):
        with tab:
            render_view(result)
    previous = st.session_state.get(PREVIOUS_RESULT_KEY)
    if previous is not None and previous is not result:
        with st.expander("Compare with previous run"):
            compare.render(result, previous)
    render_download(result)
