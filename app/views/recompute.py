"""View 3: which cache entries were reused, recomputed or evicted, per layer and token."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import semshare_core as ss
from app import colors, linked
from app.views import downsample
from app.views.charts import show_chart
from app.tokens import hover_text, html_token

EVICTED, REUSED, RECOMPUTED = 0, 1, 2
STATE_NAMES = {EVICTED: "evicted", REUSED: "reused", RECOMPUTED: "recomputed"}
STATE_COLORS = {EVICTED: colors.EVICTED, REUSED: colors.REUSED, RECOMPUTED: colors.RECOMPUTED}
MAX_SHADED_TOKENS = 2000


def render(result: ss.RunResult) -> None:
    if not result.reused:
        st.info("This run fell back to a full prefill, so every entry was computed from the target itself.")
    selected = linked.selected_token(result)
    show_chart(state_grid_figure(result, selected), key="recompute_grid")
    st.caption("A token evicted after prefill shows as evicted even if that layer recomputed it; "
               "hover a cell for both flags. The dashed line marks the selected token.")
    st.markdown(selected_token_sentence(result, selected))
    if result.n_target_tokens > downsample.MAX_COLUMNS:
        st.caption(f"The target has {result.n_target_tokens:,} tokens, so each column covers a run of adjacent "
                   "tokens and shows their most common state. Hover a cell for the counts.")
    show_chart(state_counts_figure(result), key="recompute_counts")
    _shaded_text(result)


def cache_states(result: ss.RunResult) -> np.ndarray:
    """Return the state of every cache entry after prefill, shape (L, T)."""
    recomputed = np.asarray(result.recomputed, dtype=bool)
    retained = np.asarray(result.retained, dtype=bool)
    states = np.where(recomputed, RECOMPUTED, REUSED)
    return np.where(retained, states, EVICTED)


def selected_token_sentence(result: ss.RunResult, position: int) -> str:
    facts = linked.token_facts(result, position)
    evicted = np.setdiff1d(np.arange(result.n_layers), facts["kept_layers"])
    return (f"**Selected token** {linked.markdown_token(result, position)}: "
            f"recomputed in layers {linked.layer_ranges(facts['recomputed_layers'])}; "
            f"kept in layers {linked.layer_ranges(facts['kept_layers'])}; "
            f"evicted from layers {linked.layer_ranges(evicted)}.")


def state_grid_figure(result: ss.RunResult, selected: int | None = None) -> go.Figure:
    states = cache_states(result)  # (L, T)
    edges = downsample.column_edges(states.shape[1])
    if downsample.is_binned(edges):
        z, customdata, hovertemplate = _binned_states(result, states, edges)
    else:
        z, customdata, hovertemplate = _token_states(result, states)

    # Three flat bands over z = 0, 1, 2 give a categorical colour scale.
    scale = [[0.0, colors.EVICTED], [1 / 3, colors.EVICTED], [1 / 3, colors.REUSED], [2 / 3, colors.REUSED],
             [2 / 3, colors.RECOMPUTED], [1.0, colors.RECOMPUTED]]
    figure = go.Figure(go.Heatmap(
        x=edges[:-1], z=z, zmin=-0.5, zmax=2.5, colorscale=scale, customdata=customdata,
        hovertemplate=hovertemplate,
        colorbar=dict(tickvals=[EVICTED, REUSED, RECOMPUTED],
                      ticktext=[STATE_NAMES[EVICTED], STATE_NAMES[REUSED], STATE_NAMES[RECOMPUTED]])))
    if selected is not None:
        figure.add_vline(x=downsample.column_start(selected, edges),
                         line=dict(color=linked.HIGHLIGHT, width=2, dash="dash"))
    figure.update_layout(height=420, margin=dict(t=30, b=40), title="Cache state after prefill",
                         xaxis_title="target token position (index)", yaxis_title="layer")
    return figure


def _token_states(result: ss.RunResult, states: np.ndarray):
    recomputed = np.asarray(result.recomputed, dtype=bool)
    retained = np.asarray(result.retained, dtype=bool)
    flags = np.char.add(np.where(recomputed, "recomputed", "reused"), np.where(retained, ", kept", ", evicted"))
    tokens = np.array([hover_text(token) for token in result.target.tokens], dtype=object)
    hover_tokens = np.tile(tokens, (states.shape[0], 1))
    return (states, np.dstack([hover_tokens, flags]),
            "layer %{y}<br>token %{x} %{customdata[0]}<br>%{customdata[1]}<extra></extra>")


def _binned_states(result: ss.RunResult, states: np.ndarray, edges: np.ndarray):
    """Colour each column by its most common state and list the counts of all three on hover."""
    counts = np.stack([downsample.count_per_column(states == state, edges)
                       for state in (EVICTED, REUSED, RECOMPUTED)])  # (3, L, columns)
    labels = np.tile(downsample.column_labels(result.target.tokens, edges), (states.shape[0], 1))
    customdata = np.dstack([labels, counts[RECOMPUTED], counts[REUSED], counts[EVICTED]])
    hovertemplate = ("layer %{y}<br>tokens %{customdata[0]}<br>recomputed %{customdata[1]}, "
                     "reused %{customdata[2]}, evicted %{customdata[3]}<extra></extra>")
    return counts.argmax(axis=0), customdata, hovertemplate


def state_counts_figure(result: ss.RunResult) -> go.Figure:
    states = cache_states(result)
    layers = np.arange(states.shape[0])
    figure = go.Figure()
    for state in (RECOMPUTED, REUSED, EVICTED):
        counts = (states == state).sum(axis=1)
        figure.add_trace(go.Bar(x=layers, y=counts, name=STATE_NAMES[state], marker_color=STATE_COLORS[state],
                                hovertemplate=f"layer %{{x}}<br>{STATE_NAMES[state]} %{{y}} tokens<extra></extra>"))
    figure.update_layout(barmode="stack", height=360, margin=dict(t=80, b=40), title="Tokens per layer by state",
                         xaxis_title="layer", yaxis_title="target tokens", legend=colors.TOP_LEFT_LEGEND)
    return figure


@st.fragment
def _shaded_text(result: ss.RunResult) -> None:
    st.markdown("**Target text shaded by recompute depth**")
    document_only = st.toggle("Only the document (hide the chat template)", value=True, key="recompute_document_only")
    start, end = result.target.document_span if document_only else (0, result.n_target_tokens)
    start, end = _text_window(start, end)
    st.html(shaded_text_html(result, start, end, linked.selected_token(result)))
    st.caption(f"Darker tokens were recomputed in more of the {result.n_layers} layers. "
               "Hover a token for its counts.")


def _text_window(start: int, end: int) -> tuple[int, int]:
    """Return at most MAX_SHADED_TOKENS positions of [start, end), with a slider to move them.

    Each token is a span with its own tooltip, about 150 bytes, so a 6,000-token text
    would send 0.9 MB of HTML.
    """
    if end - start <= MAX_SHADED_TOKENS:
        return start, end
    first = st.slider("First token shown", min_value=start, max_value=end - MAX_SHADED_TOKENS, value=start,
                      step=100, key="recompute_text_start",
                      help=f"The text shows {MAX_SHADED_TOKENS:,} tokens at a time (unit: token index).")
    return first, first + MAX_SHADED_TOKENS


def shaded_text_html(result: ss.RunResult, start: int, end: int, selected: int | None = None) -> str:
    """Return the target tokens in [start, end) as escaped HTML spans shaded by recompute count.

    The selected token gets a black outline.
    """
    recompute_counts = np.asarray(result.recomputed, dtype=bool).sum(axis=0)  # (T,)
    kept_counts = np.asarray(result.retained, dtype=bool).sum(axis=0)        # (T,)
    red, green, blue = colors.RECOMPUTED_RGB
    spans = []
    for position in range(start, end):
        share = recompute_counts[position] / max(result.n_layers, 1)
        title = (f"token {position}: recomputed in {recompute_counts[position]} of {result.n_layers} layers, "
                 f"kept in {kept_counts[position]}")
        outline = "; outline: 2px solid black" if position == selected else ""
        spans.append(f'<span title="{title}" style="background: rgba({red}, {green}, {blue}, {share:.3f}); '
                     f'border-radius: 2px{outline}">{html_token(result.target.tokens[position])}</span>')
    legend = (f'<div style="margin-top: 0.5em; font-size: 0.85em">0 layers '
              f'<span style="display: inline-block; width: 120px; height: 0.8em; vertical-align: middle; '
              f'background: linear-gradient(to right, rgba({red}, {green}, {blue}, 0), '
              f'rgba({red}, {green}, {blue}, 1))"></span> all {result.n_layers} layers</div>')
    body = "".join(spans)
    return (f'<div style="line-height: 1.9; white-space: pre-wrap; font-family: sans-serif; '
            f'max-height: 420px; overflow-y: auto">{body}</div>{legend}')
