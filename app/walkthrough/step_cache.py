"""Steps 6 and 7: rearranging the reference cache, then layer 0 and its high-deviation tokens."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app import colors
from app.tokens import chart_label, hover_text
from app.walkthrough.context import StepContext
from app.walkthrough.style import FOCUS, quoted, show_figure

TOKENS_AROUND_FOCUS = 8
DIFFERENT_TOKEN_COLOR = "#777777"
# Above this many target tokens the deviation chart draws WebGL markers instead of bars.
MAX_BARS = 3000


def fallback_notice(ctx: StepContext) -> None:
    if not ctx.result.reused:
        st.warning(f"This run did not reuse the reference cache: {ctx.result.fallback_reason} "
                   "The figure shows what a full prefill did. Lower the *Similarity threshold* on Explore "
                   "and run again to see this step at work.")


def render_rearrange(ctx: StepContext) -> None:
    result, params = ctx.result, ctx.result.params
    fallback_notice(ctx)

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown(f"The reference's cache holds keys K and values V for each of its "
                    f"{result.n_reference_tokens:,} tokens in all {result.n_layers} layers. The matching "
                    "tells where each row goes: target position t receives the row of m(t), in every layer.")
        st.latex(r"\begin{aligned} \tilde K_\ell[t] &= R_{t - m(t)}\, K^{ref}_\ell[m(t)] \\"
                 r"\tilde V_\ell[t] &= V^{ref}_\ell[m(t)] \end{aligned}")
        rotation = ("rotated from the reference position to the target position (R above), so that each key "
                    "carries its new position" if params.rerotate_keys else
                    "reused as they are (re-rotation is off in this run), so each key keeps its old position")
        st.markdown(f"Keys carry their position through RoPE, so the reused keys are {rotation}.")
        if ctx.has_mapping:
            used = len(np.unique(np.asarray(result.mapping)))
            seconds = result.phase_seconds.get("rearrange", 0.0)
            st.markdown(f"The target's {result.n_target_tokens:,} tokens draw on **{used:,}** distinct reference "
                        f"tokens. Gathering rows is a copy, not a model computation: "
                        f"{seconds * 1000:.0f} ms in this run.")
    with figure_column:
        if not ctx.has_mapping:
            st.info("This run has no token matching to show.")
            return
        show_figure(rearrange_figure(result, ctx.focus), key="wt_rearrange", height=620)
        st.caption("Left: reference tokens around the highlighted token's match. Right: target tokens around "
                   "the highlighted token (black). Blue lines join identical tokens, grey dashed lines "
                   "different ones; matches outside the left window are not drawn.")


def rearrange_figure(result, focus: int) -> go.Figure:
    mapping = np.asarray(result.mapping)
    target_start = max(focus - TOKENS_AROUND_FOCUS, 0)
    target_end = min(focus + TOKENS_AROUND_FOCUS + 1, result.n_target_tokens)
    reference_start = max(int(mapping[focus]) - TOKENS_AROUND_FOCUS, 0)
    reference_end = min(int(mapping[focus]) + TOKENS_AROUND_FOCUS + 1, result.n_reference_tokens)

    # Both columns are drawn in rows 0, 1, 2, ... from the top, so they line up whatever their positions.
    figure = go.Figure()
    for position in range(target_start, target_end):
        match = int(mapping[position])
        if not reference_start <= match < reference_end:
            continue
        same = result.reference.token_ids[match] == result.target.token_ids[position]
        if position == focus:
            line = dict(color=FOCUS, width=5)
        elif same:
            line = dict(color=colors.REUSED, width=2.5)
        else:
            line = dict(color=DIFFERENT_TOKEN_COLOR, width=2.5, dash="dash")
        figure.add_trace(go.Scatter(x=[0, 1], y=[match - reference_start, position - target_start], mode="lines",
                                    line=line, hoverinfo="skip"))

    figure.add_trace(_token_column(0, range(reference_start, reference_end), result.reference.tokens,
                                   "middle left", "reference", None))
    figure.add_trace(_token_column(1, range(target_start, target_end), result.target.tokens,
                                   "middle right", "target", focus))
    figure.update_layout(
        title="Each target row takes its match's K and V", showlegend=False,
        xaxis=dict(range=[-0.9, 1.9], tickvals=[0, 1], ticktext=["reference cache", "target cache"], showgrid=False),
        yaxis=dict(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False),
        margin=dict(l=20, r=20))
    return figure


def _token_column(x: float, positions: range, tokens: list[str], text_position: str, role: str,
                  focus: int | None) -> go.Scatter:
    positions = list(positions)
    return go.Scatter(
        x=[x] * len(positions), y=[position - positions[0] for position in positions], mode="markers+text",
        textposition=text_position,
        text=[f"{position} {chart_label(tokens[position])}" if text_position == "middle right"
              else f"{chart_label(tokens[position])} {position}" for position in positions],
        textfont=dict(size=18, color=[FOCUS for _ in positions]),
        marker=dict(size=[18 if position == focus else 11 for position in positions],
                    color=[FOCUS if position == focus else "#555555" for position in positions]),
        hovertext=[f"{role} {position} {hover_text(tokens[position])}" for position in positions],
        hoverinfo="text")


def render_layer_zero(ctx: StepContext) -> None:
    result, params = ctx.result, ctx.result.params
    fallback_notice(ctx)
    hd_tokens = np.asarray(result.hd_tokens, dtype=int)
    is_hd = np.zeros(result.n_target_tokens, dtype=bool)
    is_hd[hd_tokens] = True

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown("The rearranged cache is only approximate. Layer 0 is cheap to run, because its input is "
                    "just the embeddings, so it runs on **all** target tokens and its fresh K and V are "
                    "compared with the rearranged ones:")
        st.latex(r"\begin{aligned} \sigma_t = \; & \lVert \tilde K_0[t] - K_0[t] \rVert_2 \\"
                 r"+ \; & \lVert \tilde V_0[t] - V_0[t] \rVert_2 \end{aligned}")
        st.markdown(f"The top **{hd_share(result):.0%}** by σ are the **high-deviation (HD) tokens**: here "
                    f"{len(hd_tokens):,} of {result.n_target_tokens:,}. Only they continue to layer 1 with "
                    "their own hidden state; the others keep the reused cache from here on.")
        share_sentence = _share_sentence(result)
        if share_sentence:
            st.markdown(share_sentence)
        st.markdown("With re-rotated keys, a token matched to an identical token gets the same K and V at "
                    "layer 0, because that layer sees only the token and its position: its σ is near 0.")
        st.markdown(_focus_sentence(result, ctx.focus, is_hd[ctx.focus]))
    with figure_column:
        show_figure(deviation_figure(result, is_hd, ctx.focus), key="wt_layer_zero")
        st.caption("σ is shown relative to the size of the token's true K and V, so tokens compare fairly. "
                   "The engine ranks the absolute σ, so a few orange bars can sit below blue ones. The last "
                   f"{params.tail_tokens} tokens always continue, whatever their σ.")


def hd_share(result) -> float:
    """Return the share of tokens passed on to layer 1, after any adaptive lowering, in [0, 1]."""
    effective = result.extras.get("effective_hd_fraction")
    return float(effective) if effective is not None else result.params.hd_fraction


def _share_sentence(result) -> str:
    params = result.params
    parts = []
    if getattr(params, "adaptive_hd", False) and hd_share(result) < params.hd_fraction:
        parts.append(f"The *High-deviation share at layer 0* setting, {params.hd_fraction:.0%}, is an upper "
                     "limit: this run lowered it to the share of target tokens outside spans copied word for word from the "
                     f"reference, but not below {params.hd_min_fraction:.0%}.")
    signal = getattr(params, "recompute_signal", "deviation")
    if signal != "deviation":
        parts.append(f"In this run the tokens are ranked by the *{signal}* signal, not by σ alone.")
    return " ".join(parts)


def _focus_sentence(result, focus: int, focus_is_hd: bool) -> str:
    deviation = float(result.kv_deviation_before[0][focus])
    verdict = "is an HD token and continues to layer 1" if focus_is_hd else "is not an HD token and stops here"
    return (f"The highlighted token {quoted(result.target.tokens[focus])} (position {focus}) has a relative "
            f"σ of {deviation:.2f}: it {verdict}.")


def deviation_figure(result, is_hd: np.ndarray, focus: int) -> go.Figure:
    deviation = np.asarray(result.kv_deviation_before[0], dtype=float)
    positions = np.arange(result.n_target_tokens)
    figure = go.Figure()
    for mask, name, color in ((~is_hd, "reused from layer 1 on", colors.REUSED),
                              (is_hd, "high deviation: recomputed in layer 1", colors.RECOMPUTED)):
        hover = [f"{position} {hover_text(result.target.tokens[position])}: σ {deviation[position]:.2f}"
                 for position in positions[mask]]
        if result.n_target_tokens > MAX_BARS:
            figure.add_trace(go.Scattergl(x=positions[mask], y=deviation[mask], mode="markers", name=name,
                                          marker=dict(color=color, size=4), hovertext=hover, hoverinfo="text"))
        else:
            figure.add_trace(go.Bar(x=positions[mask], y=deviation[mask], name=name,
                                    marker=dict(color=color, line=dict(width=0)), hovertext=hover, hoverinfo="text"))
    figure.add_annotation(x=focus, y=float(deviation[focus]), text=chart_label(result.target.tokens[focus]),
                          showarrow=True, arrowhead=2, arrowwidth=2, ax=0, ay=-70, font=dict(size=18, color=FOCUS),
                          bgcolor="white", bordercolor=FOCUS)
    figure.update_layout(title="Layer 0: deviation of the rearranged cache", bargap=0, barmode="overlay",
                         xaxis_title="target token position (index)",
                         yaxis_title="relative deviation σ")
    return figure
