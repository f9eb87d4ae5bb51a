"""Steps 4 and 5: LSH signatures and buckets, then the token matching and the prompt similarity."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app import colors
from app.tokens import chart_label, hover_text
from app.walkthrough.context import StepContext, bundle_for
from app.walkthrough.data import BUCKET_BITS, bucket_id, centred_embeddings, signature_bits
from app.walkthrough.style import FOCUS, quoted, show_figure

SHOWN_BITS = 64
TARGET_ROWS = 3          # the highlighted token and the two after it
BIT_ZERO, BIT_ONE, BIT_DIFFERS = 0, 1, 2
DIFFERS_COLOR = "#D55E00"  # vermillion (Okabe-Ito), apart from the cache-state colours


def render_signatures(ctx: StepContext) -> None:
    result, params = ctx.result, ctx.result.params
    bundle = bundle_for(result) if ctx.has_mapping else None
    n_bits = params.lsh_bits * params.lsh_tables

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown(f"Comparing every pair of embeddings exactly is costly, so each embedding is reduced to a "
                    f"short **signature**: {params.lsh_bits} random hyperplanes r_i"
                    f"{f' in each of {params.lsh_tables} tables' if params.lsh_tables > 1 else ''}, "
                    "one bit per hyperplane, telling which side of it the vector lies on.")
        st.latex(r"h_i(x) = \begin{cases} 1 & r_i \cdot x \ge 0 \\ 0 & \text{otherwise} \end{cases}")
        st.latex(r"\Pr[h_i(x) = h_i(y)] = 1 - \frac{\angle(x, y)}{\pi}")
        st.markdown("Similar tokens agree on most bits. The **Hamming distance**, the number of bits that "
                    "differ, estimates how far apart the two embeddings point.")
    with figure_column:
        if bundle is None:
            st.info("The signature figure needs the run's token matching and the model.")
            return
        rows = signature_rows(ctx, bundle)
        show_figure(signature_figure(rows, min(SHOWN_BITS, n_bits)), key="wt_signatures", height=460)
        st.caption(f"The first {min(SHOWN_BITS, n_bits)} of {n_bits} bits of the highlighted token and the two "
                   "after it, each followed by the reference token it was matched to, with their Hamming "
                   "distance in brackets. Navy: 1, white: 0, vermillion: a bit where the match differs.")
    with text_column:
        _bucket_sentence(ctx, bundle)


def signature_rows(ctx: StepContext, bundle) -> list[dict]:
    """Return label, bits and match flag for the highlighted target tokens and their matches."""
    result, params = ctx.result, ctx.result.params
    rotated = params.rope_in_matching
    target_vectors = centred_embeddings(ctx.run_key, "target", rotated, bundle, result.target.token_ids,
                                        params.matching_rope_base)
    reference_vectors = centred_embeddings(ctx.run_key, "reference", rotated, bundle,
                                           result.reference.token_ids, params.matching_rope_base)
    positions = list(range(ctx.focus, min(ctx.focus + TARGET_ROWS, result.n_target_tokens)))
    matches = [int(result.mapping[position]) for position in positions]
    target_bits = signature_bits(target_vectors[positions], params)
    reference_bits = signature_bits(reference_vectors[matches], params)

    rows = []
    for index, (position, match) in enumerate(zip(positions, matches)):
        distance = float(result.match_distance[position])
        rows.append(dict(label=f"target {chart_label(result.target.tokens[position], 10)}",
                         bits=target_bits[index], is_match=False))
        rows.append(dict(label=f"match {chart_label(result.reference.tokens[match], 10)} ({distance:.0f})",
                         bits=reference_bits[index], target_bits=target_bits[index], is_match=True))
    return rows


def signature_figure(rows: list[dict], shown_bits: int) -> go.Figure:
    z = []
    for row in rows:
        bits = row["bits"][:shown_bits].astype(int)
        if row["is_match"]:
            bits = np.where(bits != row["target_bits"][:shown_bits], BIT_DIFFERS, bits)
        z.append(bits)
    scale = [[0.0, "#FFFFFF"], [1 / 3, "#FFFFFF"], [1 / 3, "#1F2A44"], [2 / 3, "#1F2A44"],
             [2 / 3, DIFFERS_COLOR], [1.0, DIFFERS_COLOR]]
    figure = go.Figure(go.Heatmap(
        z=np.array(z), y=[f"{index}: {row['label']}" for index, row in enumerate(rows)], zmin=-0.5, zmax=2.5,
        colorscale=scale, xgap=1, ygap=4, showscale=False, hovertemplate="%{y}<br>bit %{x}<extra></extra>"))
    figure.add_shape(type="rect", x0=-0.5, x1=BUCKET_BITS - 0.5, y0=-0.5, y1=len(rows) - 0.5,
                     line=dict(color=FOCUS, width=4))
    figure.add_annotation(x=BUCKET_BITS / 2 - 0.5, y=-0.5, yshift=12, text=f"first {BUCKET_BITS} bits: the bucket",
                          showarrow=False, xanchor="left", font=dict(size=18, color=FOCUS), bgcolor="white")
    figure.update_layout(title="LSH signatures: one bit per random hyperplane", xaxis_title="bit (index)",
                         yaxis=dict(autorange="reversed"), margin=dict(t=90))
    return figure


def _bucket_sentence(ctx: StepContext, bundle) -> None:
    """Say how many buckets the reference fills and who shares the highlighted token's bucket."""
    result, params = ctx.result, ctx.result.params
    rotated = params.rope_in_matching
    reference_vectors = centred_embeddings(ctx.run_key, "reference", rotated, bundle,
                                           result.reference.token_ids, params.matching_rope_base)
    target_vectors = centred_embeddings(ctx.run_key, "target", rotated, bundle, result.target.token_ids,
                                        params.matching_rope_base)
    reference_buckets = np.array([bucket_id(bits) for bits in signature_bits(reference_vectors, params)])
    focus_bucket = bucket_id(signature_bits(target_vectors[[ctx.focus]], params)[0])
    same_bucket = int((reference_buckets == focus_bucket).sum())
    match = int(result.mapping[ctx.focus])
    match_inside = "is one of them" if reference_buckets[match] == focus_bucket else "is not one of them"

    st.markdown(f"**Buckets.** LSH indexes file signatures by their first bits and search only the bucket a "
                f"query falls in. With {BUCKET_BITS} bits, the reference's {result.n_reference_tokens:,} tokens "
                f"fill {len(np.unique(reference_buckets))} buckets. The highlighted token "
                f"{quoted(result.target.tokens[ctx.focus])} shares its bucket with {same_bucket} reference "
                f"tokens; its match {match_inside}.")
    st.caption("This project compares each target signature with every reference signature, which is exact "
               "and fast enough for prompts of a few thousand tokens; buckets are how an index avoids that "
               "search at larger scale.")


def render_matching(ctx: StepContext) -> None:
    result, params = ctx.result, ctx.result.params
    d_max = params.d_max_fraction * params.lsh_bits
    mean_distance = float(result.extras.get("match_mean_distance", float("nan")))
    decision = ("at or above the threshold, so the cache **is reused**" if result.reused
                else "below the threshold, so the run **fell back** to a full prefill")

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown("Each target token t is matched to the reference token m(t) with the smallest Hamming "
                    "distance. Several target tokens may share one reference token.")
        st.latex(r"m(t) = \arg\min_{r}\; d_H\big(h(e_t), h(e_r)\big)")
        st.markdown("Whether to reuse at all depends on the prompt similarity, from the mean distance d over "
                    "the document's tokens:")
        st.latex(r"\text{similarity} = \mathrm{clip}\Big(1 - \frac{d}{d_{max}}, 0, 1\Big)")
        st.markdown(f"Here d = {mean_distance:.1f} bits and d_max = {d_max:g} bits "
                    f"({params.d_max_fraction:g} of {params.lsh_bits} bits), so the similarity is "
                    f"**{result.similarity:.2f}**.")
        st.markdown(f"The threshold is {params.similarity_threshold:.2f}: {result.similarity:.2f} is {decision}.")
        if ctx.has_mapping:
            st.markdown(_same_token_sentence(result))
    with figure_column:
        if not ctx.has_mapping:
            st.info("This run has no token matching to show.")
            return
        show_figure(matching_figure(result, ctx.focus), key="wt_matching")
        st.caption("Each dot is one target token at its matched reference position, coloured by Hamming "
                   "distance. The dashed line is the same relative position in both prompts.")


def _same_token_sentence(result) -> str:
    start, end = result.target.document_span
    mapping = np.asarray(result.mapping)[start:end]
    target_ids = np.asarray(result.target.token_ids)[start:end]
    reference_ids = np.asarray(result.reference.token_ids)[mapping]
    same = float((reference_ids == target_ids).mean()) if end > start else 0.0
    return (f"**{same:.0%}** of the target's document tokens were matched to the same token in the "
            "reference; the rest went to a token that is merely close.")


def matching_figure(result, focus: int) -> go.Figure:
    mapping = np.asarray(result.mapping)
    distance = np.asarray(result.match_distance, dtype=float)
    positions = np.arange(result.n_target_tokens)
    hover = [f"target {t} {hover_text(result.target.tokens[t])}<br>"
             f"reference {m} {hover_text(result.reference.tokens[m])}<br>{d:.1f} bits apart"
             for t, m, d in zip(positions, mapping, distance)]
    scatter = go.Scattergl if result.n_target_tokens > 3000 else go.Scatter

    figure = go.Figure()
    figure.add_trace(scatter(
        x=positions, y=mapping, mode="markers", hovertext=hover, hoverinfo="text", name="match",
        marker=dict(size=7, color=distance, colorscale=colors.DISTANCE_SCALE, cmin=0,
                    cmax=max(float(distance.max(initial=0)), 1e-9), showscale=True,
                    colorbar=dict(title="Hamming<br>distance<br>(bits)"))))
    # Drawn after the matches, so that the dots do not hide it.
    figure.add_trace(go.Scatter(
        x=[0, result.n_target_tokens - 1], y=[0, result.n_reference_tokens - 1], mode="lines",
        line=dict(dash="dash", color="#555555", width=2), hoverinfo="skip", name="same relative position"))
    figure.add_trace(go.Scatter(
        x=[focus], y=[mapping[focus]], mode="markers", hoverinfo="skip", name="highlighted token",
        marker=dict(size=20, color="rgba(0,0,0,0)", line=dict(color=FOCUS, width=4))))
    figure.add_annotation(x=focus, y=float(mapping[focus]), text=f"{chart_label(result.target.tokens[focus])} → "
                          f"{chart_label(result.reference.tokens[mapping[focus]])}", showarrow=True, arrowhead=2,
                          ax=90, ay=-60, font=dict(size=18, color=FOCUS), bgcolor="white")
    figure.update_layout(title="Each target token and its matched reference token", showlegend=False,
                         xaxis_title="target token position (index)",
                         yaxis_title="matched reference position (index)")
    return figure
