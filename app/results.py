"""Results area: headline metrics and the five views, drawn from the stored RunResult."""

from __future__ import annotations

import streamlit as st

import semshare_core as ss
from app.summary import render_download, render_summary
from app.views import alignment, deviation, outputs, recompute, speed

VIEWS = (
    ("Token alignment", alignment.render),
    ("Per-layer deviation", deviation.render),
    ("Reused / recomputed / evicted", recompute.render),
    ("Output difference", outputs.render),
    ("Speed and memory", speed.render),
)


def render_results(result: ss.RunResult, is_stale: bool) -> None:
    st.divider()
    st.subheader("Results")
    render_summary(result, is_stale)
    tabs = st.tabs([title for title, _ in VIEWS], key="result_tabs")
    for tab, (_, render_view) in zip(tabs, VIEWS):
        with tab:
            render_view(result)
    render_download(result)
