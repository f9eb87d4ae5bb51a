"""Step 1: exact prefix caching reuses only the common token prefix of the two prompts."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app import colors
from app.walkthrough.context import StepContext
from app.walkthrough.data import common_prefix_length
from app.walkthrough.style import FOCUS, quoted, show_figure, token_chips

# Tokens shown on each side of the first differing token.
CHIPS_BEFORE, CHIPS_AFTER = 6, 8


def render(ctx: StepContext) -> None:
    result = ctx.result
    reference_ids, target_ids = result.reference.token_ids, result.target.token_ids
    shared = common_prefix_length(reference_ids, target_ids)
    template_tokens = result.target.document_span[0]

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown(
            "Serving systems such as vLLM and SGLang keep the KV cache of prompts they have already "
            "processed. They reuse it only for the **longest common token prefix**: the first tokens "
            "that are identical in both prompts.")
        st.markdown(f"Here the two prompts share **{shared} of {result.n_target_tokens:,}** target tokens "
                    f"({shared / max(result.n_target_tokens, 1):.0%}). {_prefix_sentence(shared, template_tokens)}")
        st.markdown("The rest must be prefilled from scratch, although both prompts tell the same story "
                    f"(word-level overlap, MinHash estimate: {result.lexical_similarity:.0%}).")
        st.markdown("**SemShareKV's question:** can the reference's cache serve the target when the words differ?")
    with figure_column:
        show_figure(prefix_figure(result.n_reference_tokens, result.n_target_tokens, shared), key="wt_prefix")
        _divergence_chips(result.reference.tokens, result.target.tokens, shared)


def _prefix_sentence(shared: int, template_tokens: int) -> str:
    if shared <= template_tokens:
        return ("All of them belong to the chat template and the instruction, "
                "which every prompt repeats. The documents themselves share nothing.")
    return (f"{shared - template_tokens} of them are document tokens; "
            "the rest belong to the chat template and the instruction.")


def prefix_figure(n_reference: int, n_target: int, shared: int) -> go.Figure:
    rows = ["target", "reference"]
    figure = go.Figure()
    figure.add_trace(go.Bar(
        y=rows, x=[shared, shared], orientation="h", name="shared prefix: reusable by prefix caching",
        marker=dict(color=colors.REUSED), hovertemplate="%{x} tokens<extra></extra>"))
    figure.add_trace(go.Bar(
        y=rows, x=[n_target - shared, n_reference - shared], orientation="h",
        name="after the first difference: prefilled again", marker=dict(color=colors.RECOMPUTED),
        hovertemplate="%{x} tokens<extra></extra>"))
    figure.add_vline(x=shared, line=dict(color=FOCUS, width=3, dash="dash"))
    figure.add_annotation(x=shared, y=1.5, text=f"first difference at token {shared}", showarrow=True,
                          arrowhead=2, ax=80, ay=-40, font=dict(size=18, color=FOCUS), bgcolor="white")
    figure.update_layout(barmode="stack", title="What exact prefix caching can reuse", legend_traceorder="normal",
                         xaxis_title="token position (index)")
    return figure


def _divergence_chips(reference_tokens: list[str], target_tokens: list[str], shared: int) -> None:
    start = max(shared - CHIPS_BEFORE, 0)
    for label, tokens in (("Reference", reference_tokens), ("Target", target_tokens)):
        window = tokens[start:shared + CHIPS_AFTER]
        classes = ["wt-shared" if start + i < shared else
                   "wt-differs wt-first-diff" if start + i == shared else "wt-differs"
                   for i in range(len(window))]
        st.markdown(f"**{label}**, tokens {start} to {start + len(window) - 1}:")
        st.markdown(token_chips(window, classes), unsafe_allow_html=True)
    if shared < len(target_tokens):
        st.caption(f"Blue: the shared prefix. Bold frame: token {shared}, the first that differs "
                   f"({quoted(reference_tokens[shared]) if shared < len(reference_tokens) else 'end'} "
                   f"against {quoted(target_tokens[shared])}).")
