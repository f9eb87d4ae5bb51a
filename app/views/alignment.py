"""View 1: which reference token each target token was matched to, and how closely."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import sample_colorscale

import semshare_core as ss
from app import colors, linked
from app.views.charts import show_token_chart
from app.tokens import chart_label, hover_text
from app.views.window import token_window

# Lexical similarity below this counts as "lexically far" in the headline sentence.
# NOTE: this cut-off is a reading aid chosen for this view. The method itself has no lexical threshold.
LEXICAL_CLOSE = 0.5
DISTANCE_BINS = 12


def render(result: ss.RunResult) -> None:
    st.markdown(similarity_sentence(result))
    if len(result.mapping) != result.n_target_tokens:
        st.info("This run has no token matching to show.")
        return

    selected = linked.selected_token(result)
    show_token_chart(overview_figure(result, selected), key="alignment_overview",
                     n_target_tokens=result.n_target_tokens)
    st.caption("Each dot is one target token, placed at its matched reference position. "
               "Dots on the dashed line match the reference token at the same relative position. "
               "A band of dots near reference position 0 means matches pile on the first tokens. "
               "The ringed dot is the selected token; click a dot to select another.")
    _window_view(result)


def similarity_sentence(result: ss.RunResult) -> str:
    threshold = result.params.similarity_threshold
    semantic = "semantically close" if result.similarity >= threshold else "semantically far"
    lexical = "lexically close" if result.lexical_similarity >= LEXICAL_CLOSE else "lexically far"
    return (f"LSH similarity **{result.similarity:.3f}** (reuse threshold {threshold:.2f}) beside "
            f"MinHash lexical similarity **{result.lexical_similarity:.3f}**: "
            f"**{semantic}, {lexical}** (lexically far means below {LEXICAL_CLOSE}).")


@st.fragment
def _window_view(result: ss.RunResult) -> None:
    st.markdown("**Matches in a window of target tokens**")
    start, end = token_window(result.n_target_tokens, key="alignment")
    selected = linked.selected_token(result)
    show_token_chart(window_figure(result, start, end, selected), key="alignment_window",
                     n_target_tokens=result.n_target_tokens)
    linked.rerun_app_after_click()
    st.caption("Lines join each target token (bottom) to its matched reference token (top). "
               "The reference row is shifted so that the median match sits above the window. "
               "Lines that leave the frame go to reference tokens outside it. The thick black line "
               "is the selected token's match. Hover a dot for details, click a target dot to select it.")
    if not start <= selected < end:
        st.caption(f"The selected token {selected} is outside this window.")


def overview_figure(result: ss.RunResult, selected: int | None = None) -> go.Figure:
    mapping = np.asarray(result.mapping)
    distance = np.asarray(result.match_distance, dtype=float)
    positions = np.arange(result.n_target_tokens)
    hover = [f"target {t} {hover_text(result.target.tokens[t])}<br>"
             f"reference {m} {hover_text(result.reference.tokens[m])}<br>distance {d:.1f} bits"
             for t, m, d in zip(positions, mapping, distance)]

    figure = go.Figure()
    figure.add_trace(go.Scattergl(
        x=positions, y=mapping, mode="markers", name="match", hovertext=hover, hoverinfo="text",
        customdata=positions,
        marker=dict(size=5, color=distance, colorscale=colors.DISTANCE_SCALE, cmin=0,
                    cmax=max(float(distance.max(initial=0)), 1e-9), showscale=True,
                    colorbar=dict(title="Hamming<br>distance (bits)"))))
    scale = (result.n_reference_tokens - 1) / max(result.n_target_tokens - 1, 1)
    figure.add_trace(go.Scatter(
        x=[0, result.n_target_tokens - 1], y=[0, result.n_reference_tokens - 1], mode="lines",
        name=f"same relative position (slope {scale:.2f})", line=dict(dash="dash", color="grey"),
        hoverinfo="skip"))
    if selected is not None:
        figure.add_trace(go.Scatter(
            x=[selected], y=[mapping[selected]], mode="markers", name=f"selected token {selected}",
            hoverinfo="skip", marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color=linked.HIGHLIGHT, width=3))))
    figure.update_layout(
        height=440, margin=dict(t=50, b=40), legend=colors.TOP_LEFT_LEGEND, clickmode="event+select",
        xaxis_title="target token position (index)", yaxis_title="matched reference position (index)")
    return figure


def window_figure(result: ss.RunResult, start: int, end: int, selected: int | None = None) -> go.Figure:
    mapping = np.asarray(result.mapping)
    distance = np.asarray(result.match_distance, dtype=float)
    positions = np.arange(start, end)
    matched = mapping[start:end]
    max_distance = max(float(distance.max(initial=0)), 1e-9)

    # Shift the reference row so the median match lands above the window.
    offset = int(np.median(matched - positions))
    reference_positions = np.arange(max(start + offset, 0), min(end + offset, result.n_reference_tokens))

    figure = go.Figure()
    _add_match_lines(figure, positions, matched - offset, distance[start:end], max_distance)
    if selected is not None and start <= selected < end:
        figure.add_trace(go.Scatter(x=[selected, mapping[selected] - offset], y=[0.0, 1.0], mode="lines",
                                    hoverinfo="skip", line=dict(color=linked.HIGHLIGHT, width=4)))
    _add_token_row(figure, positions, positions, result.target.tokens, y=0.0,
                   hover=[f"target {t} {hover_text(result.target.tokens[t])}<br>→ reference {m} "
                          f"{hover_text(result.reference.tokens[m])}<br>distance {d:.1f} bits"
                          for t, m, d in zip(positions, matched, distance[start:end])],
                   customdata=positions)
    match_counts = np.bincount(mapping, minlength=result.n_reference_tokens)
    _add_token_row(figure, reference_positions - offset, reference_positions, result.reference.tokens, y=1.0,
                   hover=[f"reference {r} {hover_text(result.reference.tokens[r])}<br>"
                          f"matched by {match_counts[r]} target tokens" for r in reference_positions])
    _add_distance_colorbar(figure, max_distance)

    figure.update_layout(
        height=520, margin=dict(t=20, b=50, l=60, r=20), showlegend=False, clickmode="event+select",
        xaxis=dict(range=[start - 0.5, end - 0.5], title=f"target token position (reference shifted by {offset})"),
        yaxis=dict(range=[-0.75, 1.75], tickvals=[0, 1], ticktext=["target", "reference"], zeroline=False))
    return figure


def _add_match_lines(figure: go.Figure, x_target: np.ndarray, x_reference: np.ndarray,
                     distance: np.ndarray, max_distance: float) -> None:
    # One trace per distance bin keeps the trace count small for 150-token windows.
    bins = np.minimum((distance / max_distance * DISTANCE_BINS).astype(int), DISTANCE_BINS - 1)
    bin_colors = sample_colorscale(colors.DISTANCE_SCALE, (np.arange(DISTANCE_BINS) + 0.5) / DISTANCE_BINS)
    for index in range(DISTANCE_BINS):
        members = np.flatnonzero(bins == index)
        if members.size == 0:
            continue
        xs, ys = [], []
        for member in members:
            xs += [x_target[member], x_reference[member], None]
            ys += [0.0, 1.0, None]
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip",
                                    line=dict(color=bin_colors[index], width=1.2)))


def _add_token_row(figure: go.Figure, x: np.ndarray, positions: np.ndarray, tokens: list[str], y: float,
                   hover: list[str], customdata: np.ndarray | None = None) -> None:
    figure.add_trace(go.Scatter(x=x, y=np.full(len(x), y), mode="markers", hovertext=hover, customdata=customdata,
                                hoverinfo="text", marker=dict(size=8, color="black")))
    # Rotated annotations fit one readable label per token where horizontal text would overlap.
    # They go in one layout update because add_annotation validates on each call (about 2 s for 160 labels).
    below = y == 0.0
    labels = [dict(x=x_position, y=y, text=chart_label(tokens[position]), showarrow=False, textangle=-90,
                   yshift=-8 if below else 8, yanchor="top" if below else "bottom", font=dict(size=10))
              for x_position, position in zip(x, positions)]
    figure.update_layout(annotations=list(figure.layout.annotations) + labels)


def _add_distance_colorbar(figure: go.Figure, max_distance: float) -> None:
    figure.add_trace(go.Scatter(
        x=[None], y=[None], mode="markers", hoverinfo="skip",
        marker=dict(colorscale=colors.DISTANCE_SCALE, cmin=0, cmax=max_distance, color=[0],
                    showscale=True, colorbar=dict(title="Hamming<br>distance (bits)"))))
