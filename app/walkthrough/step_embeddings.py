"""Steps 2 and 3: the E cache of token embeddings, and RoPE rotation of those embeddings."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app.tokens import chart_label
from app.walkthrough.context import StepContext, bundle_for
from app.walkthrough.data import centred_embeddings, rope_self_similarity
from app.walkthrough.style import FOCUS, quoted, show_figure

ROWS_AROUND_FOCUS = 6   # embedding rows shown above and below the highlighted token
SHOWN_DIMENSIONS = 48


def render_e_cache(ctx: StepContext) -> None:
    result = ctx.result
    bundle = bundle_for(result)
    target_vectors = None
    if bundle is not None:
        target_vectors = centred_embeddings(ctx.run_key, "target", False, bundle, result.target.token_ids,
                                            result.params.matching_rope_base)
    width = target_vectors.shape[1] if target_vectors is not None else 0
    e_cache_bytes = result.n_target_tokens * width * 4

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown("For each prompt, SemShareKV keeps its **E cache**: the output of the model's input "
                    "embedding layer, one vector per token. It needs no forward pass.")
        st.latex(r"e_t = W_E[x_t] \in \mathbb{R}^{d}")
        if width:
            st.markdown(f"Here d = {width}, so the target's E cache holds {result.n_target_tokens:,} × {width} "
                        f"numbers: **{e_cache_bytes / 1e6:.1f} MB** in float32, against "
                        f"**{result.kv_bytes_full / 1e6:.1f} MB** for its full KV cache "
                        f"({result.n_layers} layers of keys and values).")
        st.markdown("Before hashing, the mean embedding of the vocabulary is subtracted, because all token "
                    "embeddings share a large common part that would give most tokens the same hash bits.")
    with figure_column:
        if target_vectors is None:
            st.info("The embedding figure needs the model, which could not be loaded.")
            return
        show_figure(e_cache_figure(result.target.tokens, target_vectors, ctx.focus), key="wt_e_cache")
        st.caption(f"Rows: target tokens around the highlighted token {ctx.focus} "
                   f"({quoted(result.target.tokens[ctx.focus])}, black frame). "
                   f"Columns: the first {min(SHOWN_DIMENSIONS, width)} of {width} dimensions, after centring.")


def e_cache_figure(tokens: list[str], vectors: np.ndarray, focus: int) -> go.Figure:
    start = max(focus - ROWS_AROUND_FOCUS, 0)
    end = min(focus + ROWS_AROUND_FOCUS + 1, len(tokens))
    rows = vectors[start:end, :SHOWN_DIMENSIONS]
    labels = [f"{position} {chart_label(tokens[position])}" for position in range(start, end)]
    limit = float(np.abs(rows).max(initial=1e-6))

    figure = go.Figure(go.Heatmap(
        z=rows, y=labels, colorscale="RdBu", zmid=0, zmin=-limit, zmax=limit,
        colorbar=dict(title="value"), hovertemplate="%{y}<br>dimension %{x}: %{z:.3f}<extra></extra>"))
    row = focus - start
    figure.add_shape(type="rect", x0=-0.5, x1=rows.shape[1] - 0.5, y0=row - 0.5, y1=row + 0.5,
                     line=dict(color=FOCUS, width=4))
    figure.update_layout(title="The E cache: one embedding row per token",
                         xaxis_title="embedding dimension (index)", yaxis=dict(autorange="reversed"))
    return figure


def render_rope(ctx: StepContext) -> None:
    result, params = ctx.result, ctx.result.params
    bundle = bundle_for(result)

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown("Embeddings carry no position: every “the” in the reference looks the same. Matching on "
                    "them alone sends many target tokens to the first tokens of the reference.")
        st.markdown("RoPE adds position by turning each pair of dimensions through an angle that grows with "
                    "the token's position p:")
        st.latex(r"\begin{aligned} x'_{2k} &= x_{2k} \cos p\theta_k - x_{2k+1} \sin p\theta_k \\"
                 r"x'_{2k+1} &= x_{2k} \sin p\theta_k + x_{2k+1} \cos p\theta_k \\"
                 r"\theta_k &= b^{-2k/d} \end{aligned}")
        st.markdown(f"With base b = {params.matching_rope_base:g}, the same token placed far away becomes "
                    "less similar to itself, so matching prefers reference tokens at nearby positions.")
        st.markdown(_run_sentence(params.rope_in_matching))
    with figure_column:
        if bundle is None:
            st.info("The rotation figure needs the model, which could not be loaded.")
            return
        vectors = centred_embeddings(ctx.run_key, "target", False, bundle, result.target.token_ids,
                                     params.matching_rope_base)
        match_offset = None
        if ctx.has_mapping:
            match_offset = ctx.focus - int(result.mapping[ctx.focus])
        max_offset = max(result.n_target_tokens, result.n_reference_tokens)
        show_figure(rope_figure(vectors[ctx.focus], max_offset, params.matching_rope_base, match_offset),
                    key="wt_rope")
        st.caption(f"The highlighted token {ctx.focus} ({quoted(result.target.tokens[ctx.focus])}) compared "
                   "with a copy of itself moved by the distance on the x axis, both rotated by RoPE.")


def _run_sentence(rope_in_matching: bool) -> str:
    if rope_in_matching:
        return "**In this run** the embeddings were rotated before hashing."
    return ("**In this run** the rotation was off, the project's default: on OneStopEnglish pairs it matched "
            "the same word less often. Ties between equally close reference tokens go to the same "
            "relative position instead. Turn on *RoPE on embeddings before hashing* on Explore to compare.")


def rope_figure(vector: np.ndarray, max_offset: int, base: float, match_offset: int | None) -> go.Figure:
    offsets = np.arange(0, max_offset + 1)
    similarity = rope_self_similarity(vector, offsets.astype(np.float64), base)

    figure = go.Figure(go.Scatter(
        x=offsets, y=similarity, mode="lines", line=dict(color="#0072B2", width=3),
        hovertemplate="moved by %{x} positions: cosine %{y:.3f}<extra></extra>", name="cosine similarity"))
    if match_offset is not None:
        distance = abs(match_offset)
        figure.add_vline(x=distance, line=dict(color=FOCUS, width=3, dash="dash"))
        figure.add_annotation(x=distance, y=float(similarity[min(distance, max_offset)]),
                              text=f"its match lies {distance} positions away", showarrow=True, arrowhead=2,
                              ax=120, ay=-60, font=dict(size=18, color=FOCUS), bgcolor="white")
    figure.update_layout(title="Same token, moved: how similar after RoPE?",
                         xaxis_title="distance between the two positions (tokens)",
                         yaxis_title="cosine similarity", yaxis_range=[-0.2, 1.05], showlegend=False)
    return figure
