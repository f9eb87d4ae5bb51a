"""View 2: how far the cache is from the full prefill's, per layer and token."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

import semshare_core as ss
from semshare_core.observations import adjacent_rank_correlation
from app import colors, linked
from app.tokens import hover_text
from app.views import downsample
from app.views.charts import show_chart, show_token_chart
from app.views.recompute import STATE_COLORS, STATE_NAMES, cache_states

LOG_FLOOR = 1e-4  # relative deviations below this share one colour on the log scale


def render(result: ss.RunResult) -> None:
    if not result.reused:
        st.info("This run fell back to a full prefill, so its cache equals the full prefill's "
                "and every deviation is zero.")
    _heatmaps(result)
    _selected_token_chart(result)
    _layer_profile(result)
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
    figure = deviation_figure(result, log_scale=scale == "log10", percentile=percentile,
                              selected=linked.selected_token(result))
    show_chart(figure, key="deviation_heatmaps")
    st.caption("Relative KV deviation per layer and target token against the full prefill's cache: "
               "(‖K − K_full‖ + ‖V − V_full‖) / (‖K_full‖ + ‖V_full‖). Both maps share one colour scale. "
               "Recomputed tokens still deviate when their inputs came through reused tokens. "
               "The dashed line marks the selected token's column.")
    if result.n_target_tokens > downsample.MAX_COLUMNS:
        st.caption(f"The target has {result.n_target_tokens:,} tokens, so each column shows the maximum over "
                   f"a run of adjacent tokens ({downsample.MAX_COLUMNS} columns in all).")


def deviation_figure(result: ss.RunResult, log_scale: bool, percentile: float,
                     selected: int | None = None) -> go.Figure:
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
    if selected is not None:
        figure.add_vline(x=downsample.column_start(selected, edges), row="all", col=1,
                         line=dict(color="white", width=2, dash="dash"))
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


def _selected_token_chart(result: ss.RunResult) -> None:
    selected = linked.selected_token(result)
    show_chart(token_deviation_figure(result, selected), key="deviation_selected_token")
    st.caption("The selected token's relative deviation in each layer, before and after recompute. "
               "Marker colour is the token's cache state in that layer after prefill: orange recomputed, "
               "blue reused, grey evicted.")


def token_deviation_figure(result: ss.RunResult, position: int) -> go.Figure:
    before = np.asarray(result.kv_deviation_before, dtype=float)[:, position]  # (L,)
    after = np.asarray(result.kv_deviation_after, dtype=float)[:, position]    # (L,)
    states = cache_states(result)[:, position]                                 # (L,)
    layers = np.arange(len(before))
    state_names = [STATE_NAMES[state] for state in states]

    figure = go.Figure()
    figure.add_trace(go.Scatter(x=layers, y=before, mode="lines", name="before recompute",
                                line=dict(color=colors.FULL_PREFILL, dash="dot"),
                                hovertemplate="layer %{x}<br>before %{y:.4f}<extra></extra>"))
    figure.add_trace(go.Scatter(x=layers, y=after, mode="lines+markers", name="after recompute",
                                line=dict(color=colors.SEMSHARE), customdata=state_names,
                                marker=dict(size=9, color=[STATE_COLORS[state] for state in states],
                                            line=dict(color="black", width=1)),
                                hovertemplate="layer %{x}<br>after %{y:.4f}<br>%{customdata}<extra></extra>"))
    figure.update_layout(height=320, margin=dict(t=80, b=40), legend=colors.TOP_LEFT_LEGEND,
                         title=f"Selected token {position}: {hover_text(result.target.tokens[position])}",
                         xaxis_title="layer", yaxis_title="relative deviation", yaxis_rangemode="tozero")
    return figure


@st.fragment
def _layer_profile(result: ss.RunResult) -> None:
    st.markdown("**Deviation across the target in one layer**")
    layer = st.slider("Layer", min_value=0, max_value=max(result.n_layers - 1, 0), value=0,
                      key="deviation_layer", disabled=result.n_layers < 2,
                      help="Layer whose per-token deviation is drawn (unit: layer index, 0 is the first).")
    show_token_chart(layer_profile_figure(result, layer, linked.selected_token(result)),
                     key="deviation_layer_profile", n_target_tokens=result.n_target_tokens)
    linked.rerun_app_after_click()
    st.caption("Relative deviation of every target token in this layer, before and after recompute. "
               "Orange dots are the tokens this layer recomputed. Click a point to select its token.")


def layer_profile_figure(result: ss.RunResult, layer: int, selected: int | None = None) -> go.Figure:
    before = np.asarray(result.kv_deviation_before, dtype=float)[layer]  # (T,)
    after = np.asarray(result.kv_deviation_after, dtype=float)[layer]    # (T,)
    recomputed = np.flatnonzero(np.asarray(result.recomputed, dtype=bool)[layer])
    positions = np.arange(result.n_target_tokens)

    figure = go.Figure()
    # Small markers make every token clickable: Plotly selects points, not lines.
    figure.add_trace(go.Scattergl(x=positions, y=before, mode="lines+markers", name="before recompute",
                                  customdata=positions, line=dict(color=colors.FULL_PREFILL, width=1),
                                  marker=dict(size=3, color=colors.FULL_PREFILL),
                                  hovertemplate="token %{x}<br>before %{y:.4f}<extra></extra>"))
    figure.add_trace(go.Scattergl(x=positions, y=after, mode="lines+markers", name="after recompute",
                                  customdata=positions, line=dict(color=colors.SEMSHARE, width=1),
                                  marker=dict(size=3, color=colors.SEMSHARE),
                                  hovertemplate="token %{x}<br>after %{y:.4f}<extra></extra>"))
    figure.add_trace(go.Scattergl(x=recomputed, y=after[recomputed], mode="markers", name="recomputed here",
                                  customdata=recomputed, marker=dict(size=5, color=colors.RECOMPUTED),
                                  hovertemplate="token %{x}<br>recomputed<br>after %{y:.4f}<extra></extra>"))
    if selected is not None:
        figure.add_vline(x=selected, line=dict(color=linked.HIGHLIGHT, width=1, dash="dash"))
    figure.update_layout(height=340, margin=dict(t=80, b=40), legend=colors.TOP_LEFT_LEGEND,
                         clickmode="event+select", xaxis_title="target token position (index)",
                         yaxis_title=f"relative deviation, layer {layer}", yaxis_rangemode="tozero")
    return figure
