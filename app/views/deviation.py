"""View 2: how far the cache is from the full prefill's, per layer and token."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots
from scipy.stats import spearmanr

import semshare_core as ss
from app import colors
from app.views import downsample
from app.views.charts import show_chart

LOG_FLOOR = 1e-4  # relative deviations below this share one colour on the log scale


def render(result: ss.RunResult) -> None:
    if not result.reused:
        st.info("This run fell back to a full prefill, so its cache equals the full prefill's "
                "and every deviation is zero.")
    _heatmaps(result)
    left, right = st.columns(2)
    with left:
        show_chart(attention_deviation_figure(result), key="deviation_attention")
        st.caption("Total variation distance between the last target token's attention with the "
                   "SemShareKV cache and with the full cache: 0 is identical, 1 is disjoint.")
    with right:
        rhos = adjacent_rank_correlation(np.asarray(result.kv_deviation_before, dtype=float))
        show_chart(rank_correlation_figure(rhos), key="deviation_rank_correlation")
        if np.isnan(rhos).all():
            st.caption("No layer has varying deviations, so there is no ranking to correlate.")
        st.caption("Spearman rank correlation of per-token deviation (before recompute) between "
                   "adjacent layers. High values mean the same tokens deviate in both layers, "
                   "which is why tokens chosen at one layer stay good choices at the next.")


@st.fragment
def _heatmaps(result: ss.RunResult) -> None:
    controls = st.columns(2)
    scale = controls[0].segmented_control("Colour scale", ["linear", "log10"], default="linear",
                                          key="deviation_scale", required=True,
                                          help="log10 shows small deviations that a linear scale paints dark.")
    percentile = controls[1].slider("Colour scale maximum (percentile)", min_value=90.0, max_value=100.0,
                                    value=99.0, step=0.5, key="deviation_percentile",
                                    help="Values above this percentile of both maps share the top colour "
                                         "(unit: percent).")
    show_chart(deviation_figure(result, log_scale=scale == "log10", percentile=percentile),
                    key="deviation_heatmaps")
    st.caption("Relative KV deviation per layer and target token against the full prefill's cache: "
               "(‖K − K_full‖ + ‖V − V_full‖) / (‖K_full‖ + ‖V_full‖). Both maps share one colour scale. "
               "Recomputed tokens still deviate when their inputs came through reused tokens.")
    if result.n_target_tokens > downsample.MAX_COLUMNS:
        st.caption(f"The target has {result.n_target_tokens:,} tokens, so each column shows the maximum over "
                   f"a run of adjacent tokens ({downsample.MAX_COLUMNS} columns in all).")


def deviation_figure(result: ss.RunResult, log_scale: bool, percentile: float) -> go.Figure:
    before = np.asarray(result.kv_deviation_before, dtype=float)  # (L, T)
    after = np.asarray(result.kv_deviation_after, dtype=float)    # (L, T)
    if log_scale:
        before, after = np.log10(np.maximum(before, LOG_FLOOR)), np.log10(np.maximum(after, LOG_FLOOR))
    both = np.concatenate([before.ravel(), after.ravel()])
    finite = both[np.isfinite(both)]
    z_min = float(finite.min(initial=0.0)) if log_scale else 0.0
    z_max = float(np.percentile(finite, percentile)) if finite.size else 1.0
    if z_max - z_min < 1e-6:
        # All deviations are equal, as after a fallback to full prefill, so any span shows one colour.
        z_max = z_min + 1.0

    edges = downsample.column_edges(before.shape[1])
    before, after = downsample.max_per_column(before, edges), downsample.max_per_column(after, edges)
    hover_tokens = np.tile(downsample.column_labels(result.target.tokens, edges), (before.shape[0], 1))
    value_label = "log10 deviation" if log_scale else "deviation"
    if downsample.is_binned(edges):
        value_label = f"max {value_label}"

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=("Before recompute: rearranged reference cache",
                                           "After recompute, before eviction"))
    for row, values in ((1, before), (2, after)):
        figure.add_trace(go.Heatmap(
            x=edges[:-1], z=values, customdata=hover_tokens, coloraxis="coloraxis",
            hovertemplate=f"layer %{{y}}<br>token %{{x}} %{{customdata}}<br>{value_label} %{{z:.4f}}<extra></extra>"),
            row=row, col=1)
        figure.update_yaxes(title_text="layer", row=row, col=1)
    figure.update_xaxes(title_text="target token position (index)", row=2, col=1)
    figure.update_layout(
        height=620, margin=dict(t=40, b=40),
        coloraxis=dict(colorscale=colors.DEVIATION_SCALE, cmin=z_min, cmax=z_max,
                       colorbar=dict(title="log10 relative<br>deviation" if log_scale else "relative<br>deviation")))
    return figure


def attention_deviation_figure(result: ss.RunResult) -> go.Figure:
    values = np.asarray(result.attention_deviation, dtype=float)  # (L,)
    figure = go.Figure(go.Scatter(
        x=np.arange(len(values)), y=values, mode="lines+markers", line=dict(color=colors.SEMSHARE),
        hovertemplate="layer %{x}<br>TV distance %{y:.4f}<extra></extra>"))
    figure.update_layout(height=320, margin=dict(t=30, b=40), title="Last-token attention deviation",
                         xaxis_title="layer", yaxis_title="total variation distance (0-1)",
                         yaxis_rangemode="tozero")
    return figure


def adjacent_rank_correlation(deviation: np.ndarray) -> np.ndarray:
    """Return Spearman's rho of each layer's per-token deviation with the next layer's, shape (L-1,).

    A layer whose deviations are all equal has no ranking, so its rho is NaN.
    """
    rhos = []
    for layer in range(deviation.shape[0] - 1):
        current, following = deviation[layer], deviation[layer + 1]
        if np.ptp(current) == 0 or np.ptp(following) == 0:
            rhos.append(np.nan)
            continue
        rhos.append(spearmanr(current, following).statistic)
    return np.asarray(rhos, dtype=float)


def rank_correlation_figure(rhos: np.ndarray) -> go.Figure:
    figure = go.Figure(go.Scatter(
        x=np.arange(len(rhos)), y=rhos, customdata=np.arange(1, len(rhos) + 1), mode="lines+markers",
        line=dict(color=colors.REUSED),
        hovertemplate="layers %{x} and %{customdata}<br>Spearman rho %{y:.3f}<extra></extra>"))
    figure.add_hline(y=0.85, line_dash="dash", line_color="grey",
                     annotation_text="0.85 (reported for 7-8B models)", annotation_position="bottom right")
    figure.update_layout(height=320, margin=dict(t=30, b=40), title="Rank correlation, layer i vs i+1",
                         xaxis_title="layer i", yaxis_title="Spearman rho", yaxis_range=[-0.1, 1.05])
    return figure
