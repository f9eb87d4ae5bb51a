"""Steps 8 and 9: gradual filtering of recomputed tokens across layers, then retention."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app import colors
from app.views import downsample
from app.walkthrough.context import StepContext
from app.walkthrough.step_cache import fallback_notice, hd_share
from app.walkthrough.style import FOCUS, quoted, show_figure

EVICTED, REUSED, RECOMPUTED = 0, 1, 2
STATE_NAMES = {EVICTED: "evicted", REUSED: "reused", RECOMPUTED: "recomputed"}
STATE_COLORS = {EVICTED: colors.EVICTED, REUSED: colors.REUSED, RECOMPUTED: colors.RECOMPUTED}


def layer_list(layers: np.ndarray) -> str:
    """Format sorted layer indices as ranges, such as "0-3, 7"; "none" when empty."""
    parts, start = [], None
    for index, layer in enumerate(layers):
        if start is None:
            start = layer
        if index + 1 == len(layers) or layers[index + 1] != layer + 1:
            parts.append(str(start) if start == layer else f"{start}-{layer}")
            start = None
    return ", ".join(parts) or "none"


def render_filtering(ctx: StepContext) -> None:
    result, params = ctx.result, ctx.result.params
    fallback_notice(ctx)
    recomputed = np.asarray(result.recomputed, dtype=bool)
    counts = recomputed.sum(axis=1)
    last = result.n_layers - 1

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown("A layer can only recompute tokens whose hidden state exists, i.e. tokens the layer below "
                    "recomputed. So each layer passes on a smaller set, chosen by deviation again "
                    "(**gradual filtering**). Layer i ≥ 1 recomputes")
        st.latex(r"\text{Recomp}[i] = \big\lceil T \cdot h \cdot \alpha^{\,i-1} \big\rceil")
        st.markdown(f"tokens, with T = {result.n_target_tokens:,}, HD share h = {hd_share(result):.2g} and decay "
                    f"α = {params.recompute_decay:g}, but never fewer than the last {params.tail_tokens} tokens, "
                    f"which every layer recomputes. Here: {counts[0]:,} in layer 0, {counts[min(1, last)]:,} in "
                    f"layer 1, {counts[last]:,} in layer {last}; **{result.recompute_fraction:.0%}** of all "
                    "layer-token pairs.")
        st.markdown(f"Deeper layers rank hot tokens (the fewest that receive {params.hot_mass:.0%} of the "
                    f"attention of the last tokens) with weight {params.hot_weight:g} and the rest with "
                    f"{params.cold_weight:g}.")
        focus_layers = np.flatnonzero(recomputed[:, ctx.focus])
        st.markdown(f"The highlighted token {quoted(result.target.tokens[ctx.focus])} was recomputed in layers "
                    f"**{layer_list(focus_layers)}**.")
    with figure_column:
        states = np.where(recomputed, RECOMPUTED, REUSED)
        show_figure(state_figure(states, ctx.focus, "Recomputed or reused, per layer", (REUSED, RECOMPUTED)),
                    key="wt_filtering")
        _caption(result.n_target_tokens, "Each column is a target token, each row a layer.")


def render_retention(ctx: StepContext) -> None:
    result, params = ctx.result, ctx.result.params
    fallback_notice(ctx)
    recomputed = np.asarray(result.recomputed, dtype=bool)
    retained = np.asarray(result.retained, dtype=bool)
    kept_counts = retained.sum(axis=1)
    last = result.n_layers - 1
    saved = 1.0 - result.kv_bytes_semshare / max(result.kv_bytes_full, 1)

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        ranking = (f"A token's attention is averaged over the {params.retain_pooling} tokens around it, so the "
                   "cache keeps whole phrases instead of scattered tokens." if params.retain_pooling > 1
                   else "Each token is ranked by its own attention.")
        st.markdown("After prefill each layer keeps only the tokens that receive the most attention, and fewer "
                    "in deeper layers, which attend to fewer tokens:")
        st.latex(r"\text{Retain}[i] = \max\big(n_{min},\ \lceil T \cdot \rho \cdot \beta^{\,i} \rceil\big)")
        st.markdown(f"with ρ = {params.retain_first:g}, decay β = {params.retain_decay:g} and "
                    f"n_min = {params.retain_min_tokens}. Here layer 0 keeps {kept_counts[0]:,} tokens and layer {last} "
                    f"keeps {kept_counts[last]:,}. Evicted entries leave the cache: **{saved:.0%} less KV memory** "
                    f"({result.kv_bytes_semshare / 1e6:.1f} MB against {result.kv_bytes_full / 1e6:.1f} MB). "
                    + ranking)
        if not params.retention:
            st.markdown("Eviction is **off** in this run, so every layer keeps every token.")
        focus_layers = np.flatnonzero(retained[:, ctx.focus])
        st.markdown(f"The highlighted token {quoted(result.target.tokens[ctx.focus])} stays in layers "
                    f"**{layer_list(focus_layers)}**.")
    with figure_column:
        states = np.where(retained, np.where(recomputed, RECOMPUTED, REUSED), EVICTED)
        show_figure(state_figure(states, ctx.focus, "Cache after prefill: kept or evicted",
                                 (EVICTED, REUSED, RECOMPUTED)), key="wt_retention")
        _caption(result.n_target_tokens, "Grey entries were evicted; blue and orange entries stay in the cache.")


def _caption(n_tokens: int, text: str) -> None:
    if n_tokens > downsample.MAX_COLUMNS:
        text += (f" The target has {n_tokens:,} tokens, so each column covers a run of adjacent tokens "
                 "and shows their most common state.")
    st.caption(text + " The black frame is the highlighted token.")


def state_figure(states: np.ndarray, focus: int, title: str, legend_states: tuple[int, ...]) -> go.Figure:
    """Draw an (L, T) grid of cache states; `legend_states` lists the consecutive states that can occur, in order."""
    edges = downsample.column_edges(states.shape[1])
    z = _most_common_per_column(states, edges)
    centres = (edges[:-1] + edges[1:] - 1) / 2

    # One flat colour band per state gives a categorical colour scale.
    scale = []
    for index, state in enumerate(legend_states):
        band_start, band_end = index / len(legend_states), (index + 1) / len(legend_states)
        scale += [[band_start, STATE_COLORS[state]], [band_end, STATE_COLORS[state]]]
    figure = go.Figure(go.Heatmap(
        x=centres, z=z, zmin=legend_states[0] - 0.5, zmax=legend_states[-1] + 0.5, colorscale=scale,
        colorbar=dict(tickvals=list(legend_states), ticktext=[STATE_NAMES[state] for state in legend_states]),
        hovertemplate="token %{x:.0f}, layer %{y}<extra></extra>"))

    column = int(np.searchsorted(edges, focus, side="right") - 1)
    figure.add_shape(type="rect", x0=edges[column] - 0.5, x1=edges[column + 1] - 0.5, y0=-0.5,
                     y1=states.shape[0] - 0.5, line=dict(color=FOCUS, width=3))
    figure.update_layout(title=title, xaxis_title="target token position (index)", yaxis_title="layer")
    return figure


def _most_common_per_column(states: np.ndarray, edges: np.ndarray) -> np.ndarray:
    if not downsample.is_binned(edges):
        return states
    counts = np.stack([np.add.reduceat((states == state).astype(np.int32), edges[:-1], axis=1)
                       for state in (EVICTED, REUSED, RECOMPUTED)])  # (3, L, columns)
    return counts.argmax(axis=0)
