"""Chart display settings shared by every view."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app import linked

# A shorter mode bar leaves room for titles in half-width columns. Box and lasso
# selection are removed because views react only to a click on one token.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
}


def show_chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG)


def show_token_chart(figure: go.Figure, key: str, n_target_tokens: int) -> None:
    """Draw a chart whose points carry a target position first in customdata; a click selects that token."""
    st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG, selection_mode="points",
                    on_select=lambda: linked.chart_clicked(key, n_target_tokens))
