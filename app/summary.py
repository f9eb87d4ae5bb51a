"""Headline of a result: metric cards, the fallback notice and a stale-result notice."""

from __future__ import annotations

import json

import streamlit as st

import semshare_core as ss
from app.export import csv_download, png_download
from app.run_tables import layer_table, token_table
from app.views import alignment, deviation, recompute, speed


def render_summary(result: ss.RunResult, is_stale: bool) -> None:
    if is_stale:
        st.info("The inputs or parameters changed after this run. Press Run to update the views.")
    if not result.reused:
        _fallback_notice(result)
    _metric_cards(result)
    st.caption(f"Model {result.model_name} on {result.device} ({result.dtype}); "
               f"reference {result.n_reference_tokens:,} tokens, target {result.n_target_tokens:,} tokens, "
               f"{result.n_layers} layers.")


def _fallback_notice(result: ss.RunResult) -> None:
    threshold = result.params.similarity_threshold
    if result.similarity < threshold:
        reason = (f"The prompt similarity {result.similarity:.3f} is below the threshold {threshold:.2f}, "
                  "so the reference cache was not used. Lower the similarity threshold in the sidebar "
                  "to force reuse.")
    else:
        reason = result.fallback_reason or "The library gave no reason."
    st.warning(f"**No reuse: this run fell back to a full prefill.** {reason}")


def _metric_cards(result: ss.RunResult) -> None:
    threshold = result.params.similarity_threshold
    saved = 1.0 - result.kv_bytes_semshare / max(result.kv_bytes_full, 1)
    cards = st.columns(6)
    cards[0].metric("Similarity (LSH)", f"{result.similarity:.3f}",
                    delta=f"{result.similarity - threshold:+.3f} vs threshold", delta_color="normal",
                    help="How closely the reference covers the target's tokens: 1 - d/d_max, where d is the "
                         "mean Hamming distance from each target token to its nearest reference token "
                         "(LSH signatures of the input embeddings). Rewrites of one text score about "
                         "0.85-0.98 and unrelated texts about 0.55-0.75. It is one-directional: a long "
                         "reference covers a short target more easily than the reverse. Reuse needs at "
                         "least the threshold.")
    cards[1].metric("Lexical similarity", f"{result.lexical_similarity:.3f}",
                    help="MinHash estimate of word-shingle Jaccard similarity, 0-1. "
                         "Low values with high LSH similarity mean the same content in other words.")
    cards[2].metric("Prefill speedup", f"{result.speedup:.2f}×",
                    help="Full prefill time over SemShareKV prefill time on the target. "
                         "The reference prefill is not counted: it happened earlier.")
    cards[3].metric("Recomputed", f"{result.recompute_fraction:.1%}",
                    help="Share of (layer, token) K/V entries computed from the token's own hidden state.")
    cards[4].metric("KV memory saved", f"{saved:.1%}",
                    help="1 - SemShareKV cache bytes / full cache bytes, after eviction.")
    cards[5].metric("First token agrees", "yes" if result.first_token_agree else "no",
                    help="Whether both caches give the same first output token.")


def render_download(result: ss.RunResult) -> None:
    st.markdown("**Export**")
    columns = st.columns(3)
    summary = json.dumps(result.summary(), indent=2, default=str)
    with columns[0]:
        st.download_button("Download summary (JSON)", summary, file_name="semshare_summary.json",
                           mime="application/json", on_click="ignore", key="download_summary")
    with columns[1]:
        csv_download(token_table(result), "semshare_tokens.csv", key="download_tokens_csv",
                     label="Per-token table (CSV)")
    with columns[2]:
        csv_download(layer_table(result), "semshare_layers.csv", key="download_layers_csv",
                     label="Per-layer table (CSV)")
    st.caption("Each figure's camera button, at its top right, saves it as a PNG from the browser.")
    with st.expander("Figure as PNG, rendered on the server"):
        _render_png_export(result)


def _png_figures() -> dict:
    """Figure builders that need only the result, by title."""
    return {
        "Token alignment overview": alignment.overview_figure,
        "Cache state after prefill": recompute.state_grid_figure,
        "Tokens per state and layer": recompute.state_counts_figure,
        "Attention deviation per layer": deviation.attention_deviation_figure,
        "Prefill time": speed.prefill_time_figure,
        "KV cache bytes per layer": speed.kv_bytes_figure,
    }


def _render_png_export(result: ss.RunResult) -> None:
    figures = _png_figures()
    title = st.selectbox("Figure", list(figures), key="png_figure")
    try:
        figure = figures[title](result)
    except Exception as error:  # noqa: BLE001 - a failed export must show a message, not a traceback
        st.warning(f"Could not build the figure {title!r}: {type(error).__name__}: {error}")
        return
    png_download(figure, f"semshare_{title.lower().replace(' ', '_')}.png", key="png_export")
