"""Plotly charts of observations 1 and 2 for one run."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from app import colors

PAPER_RHO = 0.85
# Colours of the recovery thresholds; the cache-state colours stay reserved for cache states.
THRESHOLD_COLORS = (colors.OKABE_ITO["reddish purple"], colors.OKABE_ITO["black"])


def rank_correlation_chart(rhos: np.ndarray) -> go.Figure:
    """Plot Spearman's rho between adjacent layers' per-token deviation against the lower layer's index."""
    figure = go.Figure(go.Scatter(
        x=np.arange(len(rhos)), y=rhos, customdata=np.arange(1, len(rhos) + 1), mode="lines+markers",
        line=dict(color=colors.REUSED),
        hovertemplate="layers %{x} and %{customdata}<br>Spearman rho %{y:.3f}<extra></extra>"))
    figure.add_hline(y=PAPER_RHO, line_dash="dash", line_color="grey",
                     annotation_text="0.85 (reported for 7-8B models)", annotation_position="bottom right")
    figure.update_layout(height=340, margin=dict(t=40, b=40), title="Observation 1: rank correlation, layer i vs i+1",
                         xaxis_title="layer i", yaxis_title="Spearman rho", yaxis_range=[-0.1, 1.05])
    return figure


def recovery_chart(thresholds: tuple[float, ...], counts: np.ndarray, n_tokens: int) -> go.Figure:
    """Plot the share of the prompt's tokens holding each threshold of the attention, per layer."""
    figure = go.Figure()
    for threshold, row, color in zip(thresholds, counts, THRESHOLD_COLORS):
        figure.add_trace(go.Scatter(
            x=np.arange(len(row)), y=100 * np.asarray(row) / n_tokens, customdata=row, mode="lines+markers",
            name=f"{threshold:.0%} of attention", line=dict(color=color),
            hovertemplate="layer %{x}<br>%{customdata} tokens (%{y:.1f}% of the prompt)<extra></extra>"))
    figure.update_layout(height=340, margin=dict(t=40, b=40), title="Observation 2: attention recovery by layer",
                         xaxis_title="layer", yaxis_title="tokens (% of the prompt)", yaxis_rangemode="tozero",
                         legend=dict(orientation="h", y=-0.25))
    return figure
