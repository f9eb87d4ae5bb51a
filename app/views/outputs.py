"""View 4: what the model generates from the full cache and from the SemShareKV cache."""

from __future__ import annotations

import difflib
import html
import re

import plotly.graph_objects as go
import streamlit as st

import semshare_core as ss
from app import colors
from app.views.charts import show_chart
from app.tokens import chart_label, hover_text

# Okabe-Ito vermillion and sky blue. Strike-through and underline carry the same meaning without colour.
DELETED_STYLE = "background: rgba(213, 94, 0, 0.25); text-decoration: line-through"
INSERTED_STYLE = "background: rgba(86, 180, 233, 0.35); text-decoration: underline"


def render(result: ss.RunResult) -> None:
    _output_metrics(result)
    full_html, semshare_html = word_diff_html(result.output_full, result.output_semshare)
    left, right = st.columns(2)
    with left:
        st.markdown("**Full prefill**")
        st.html(_output_box(full_html))
    with right:
        st.markdown("**SemShareKV**")
        st.html(_output_box(semshare_html))
    st.caption("Word-level diff: struck-through words appear only in the full-prefill output, "
               "underlined words only in the SemShareKV output.")

    show_chart(first_token_figure(result), key="outputs_first_token")
    st.caption("Probabilities of each cache's top first tokens. A missing bar means the token is "
               "not in that cache's top list, not that its probability is zero.")


def _output_metrics(result: ss.RunResult) -> None:
    divergence = first_divergence(result.output_tokens_full, result.output_tokens_semshare)
    cards = st.columns(3)
    cards[0].metric("ROUGE-L F1 between outputs", f"{result.rouge_l_outputs:.3f}",
                    help="Longest-common-subsequence F1 of the two outputs, 0-1. "
                         "It compares the runs with each other, not with a reference summary.")
    cards[1].metric("First diverging token", "none" if divergence is None else f"#{divergence + 1}",
                    help="Position, counted from 1, of the first generated token where the outputs differ.")
    cards[2].metric("Max |logit difference|", f"{result.max_abs_logit_diff:.3f}",
                    help="Largest absolute difference between the first-token logits of the two caches.")
    if divergence is not None:
        full_token = _token_at(result.output_tokens_full, divergence)
        semshare_token = _token_at(result.output_tokens_semshare, divergence)
        st.caption(f"At generated token #{divergence + 1} the full prefill generates {full_token} "
                   f"and SemShareKV generates {semshare_token}.")


def _token_at(tokens: list[str], index: int) -> str:
    return f"“{tokens[index]}”" if index < len(tokens) else "nothing (its output ended)"


def first_divergence(full_tokens: list[str], semshare_tokens: list[str]) -> int | None:
    """Return the first index where the token lists differ, or None if they are equal."""
    for index, (full_token, semshare_token) in enumerate(zip(full_tokens, semshare_tokens)):
        if full_token != semshare_token:
            return index
    if len(full_tokens) != len(semshare_tokens):
        return min(len(full_tokens), len(semshare_tokens))
    return None


def word_diff_html(full_text: str, semshare_text: str) -> tuple[str, str]:
    """Return both texts as escaped HTML with deleted and inserted words marked."""
    # Each item is a word with the whitespace around it, so the texts are rebuilt exactly,
    # while the comparison looks at the words alone.
    full_words = re.findall(r"\s*\S+\s*", full_text)
    semshare_words = re.findall(r"\s*\S+\s*", semshare_text)
    matcher = difflib.SequenceMatcher(None, [word.strip() for word in full_words],
                                      [word.strip() for word in semshare_words], autojunk=False)

    full_parts, semshare_parts = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        full_chunk = html.escape("".join(full_words[i1:i2]))
        semshare_chunk = html.escape("".join(semshare_words[j1:j2]))
        if tag == "equal":
            full_parts.append(full_chunk)
            semshare_parts.append(semshare_chunk)
            continue
        if full_chunk:
            full_parts.append(f'<span style="{DELETED_STYLE}">{full_chunk}</span>')
        if semshare_chunk:
            semshare_parts.append(f'<span style="{INSERTED_STYLE}">{semshare_chunk}</span>')
    return "".join(full_parts), "".join(semshare_parts)


def _output_box(body: str) -> str:
    content = body or '<span style="opacity: 0.6">(no output)</span>'
    return (f'<div style="white-space: pre-wrap; border: 1px solid rgba(128, 128, 128, 0.4); '
            f'border-radius: 6px; padding: 0.75em; line-height: 1.6; font-family: sans-serif">{content}</div>')


def first_token_figure(result: ss.RunResult) -> go.Figure:
    full = {entry.token_id: entry for entry in result.first_token_probs_full}
    semshare = {entry.token_id: entry for entry in result.first_token_probs_semshare}
    # Full-prefill order first, then tokens only SemShareKV ranks.
    token_ids = list(full) + [token_id for token_id in semshare if token_id not in full]
    entries = {**semshare, **full}
    labels = [f"{chart_label(entries[token_id].token)} ({token_id})" for token_id in token_ids]

    figure = go.Figure()
    for name, probs, color in (("full prefill", full, colors.FULL_PREFILL), ("SemShareKV", semshare, colors.SEMSHARE)):
        values = [probs[token_id].prob if token_id in probs else None for token_id in token_ids]
        hovers = [hover_text(entries[token_id].token) for token_id in token_ids]
        figure.add_trace(go.Bar(x=labels, y=values, name=name, marker_color=color, customdata=hovers,
                                hovertemplate=f"{name}<br>%{{customdata}}<br>p = %{{y:.4f}}<extra></extra>"))
    figure.update_layout(barmode="group", height=380, margin=dict(t=80, b=40), title="First-token top-k probabilities",
                         xaxis_title="token (id)", yaxis_title="probability (0-1)", legend=colors.TOP_LEFT_LEGEND)
    return figure
