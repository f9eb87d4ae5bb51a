"""Chart display settings shared by every view."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

# A shorter mode bar leaves room for titles in half-width columns. Box and lasso
# selection are removed because no view reacts to a selection.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
}


def show_chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG)
