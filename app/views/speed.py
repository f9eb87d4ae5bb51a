"""View 5: prefill time and cache memory of the full prefill and of SemShareKV."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import semshare_core as ss
from app import colors
from app.views.charts import show_chart

MIB = 1024 ** 2


def render(result: ss.RunResult) -> None:
    _time_metrics(result)
    left, right = st.columns(2)
    with left:
        show_chart(prefill_time_figure(result), key="speed_prefill")
    with right:
        show_chart(phase_time_figure(result), key="speed_phases")
    st.caption(f"Times of one run on {result.device}, not averaged. The reference prefill happened "
               "before the target arrived in a real deployment, so the speedup leaves it out. "
               "Matching overhead is only amortised on long prompts: the SemShareKV authors report "
               "small gains below about 700 tokens.")

    _memory_metrics(result)
    show_chart(kv_bytes_figure(result), key="speed_kv_bytes")
    st.caption("Bytes of K and V kept per layer after prefill, before decoding.")
    if result.cuda_memory:
        _cuda_memory(result.cuda_memory)


def _time_metrics(result: ss.RunResult) -> None:
    cards = st.columns(6)
    cards[0].metric("Full prefill", format_seconds(result.prefill_seconds_full))
    cards[1].metric("SemShareKV prefill", format_seconds(result.prefill_seconds_semshare))
    cards[2].metric("Speedup", f"{result.speedup:.2f}×", help="Full prefill time / SemShareKV prefill time.")
    cards[3].metric("Ideal speedup", f"{result.ideal_speedup:.2f}×",
                    help="1 / recompute fraction: the speedup if only recomputed entries cost time.")
    decode_help = f"Time to generate up to {result.params.max_new_tokens} tokens from this cache."
    cards[4].metric("Full decode", format_seconds(result.decode_seconds_full), help=decode_help)
    cards[5].metric("SemShareKV decode", format_seconds(result.decode_seconds_semshare), help=decode_help)


def format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _memory_metrics(result: ss.RunResult) -> None:
    saved = 1.0 - result.kv_bytes_semshare / max(result.kv_bytes_full, 1)
    cards = st.columns(4)
    cards[0].metric("KV cache, full", f"{result.kv_bytes_full / MIB:.2f} MiB")
    cards[1].metric("KV cache, SemShareKV", f"{result.kv_bytes_semshare / MIB:.2f} MiB")
    cards[2].metric("KV memory saved", f"{saved:.1%}")
    cards[3].metric("Process peak memory", f"{result.peak_rss_bytes / MIB:,.0f} MiB",
                    help="Peak resident set size of the app's process so far, which includes the model "
                         "and every earlier run; it never goes down.")


def prefill_time_figure(result: ss.RunResult) -> go.Figure:
    names = ["full prefill", "SemShareKV prefill", "reference prefill (earlier)"]
    seconds = [result.prefill_seconds_full, result.prefill_seconds_semshare, result.reference_prefill_seconds]
    bar_colors = [colors.FULL_PREFILL, colors.SEMSHARE, colors.EVICTED]
    figure = go.Figure(go.Bar(x=names, y=seconds, marker_color=bar_colors,
                              hovertemplate="%{x}<br>%{y:.3f} s<extra></extra>"))
    figure.update_layout(height=360, margin=dict(t=40, b=40), title="Target prefill time",
                         yaxis_title="time (s)")
    return figure


def phase_time_figure(result: ss.RunResult) -> go.Figure:
    phases = list(result.phase_seconds)
    seconds = [result.phase_seconds[phase] for phase in phases]
    figure = go.Figure(go.Bar(x=seconds, y=phases, orientation="h", marker_color=colors.REUSED,
                              hovertemplate="%{y}<br>%{x:.3f} s<extra></extra>"))
    figure.update_layout(height=360, margin=dict(t=40, b=40), title="SemShareKV prefill by phase",
                         xaxis_title="time (s)", yaxis=dict(autorange="reversed"))
    return figure


def kv_bytes_figure(result: ss.RunResult) -> go.Figure:
    full = np.asarray(result.kv_bytes_per_layer_full, dtype=float) / MIB          # (L,)
    semshare = np.asarray(result.kv_bytes_per_layer_semshare, dtype=float) / MIB  # (L,)
    layers = np.arange(len(full))
    figure = go.Figure()
    figure.add_trace(go.Bar(x=layers, y=full, name="full prefill", marker_color=colors.FULL_PREFILL,
                            hovertemplate="layer %{x}<br>%{y:.3f} MiB<extra>full</extra>"))
    figure.add_trace(go.Bar(x=layers, y=semshare, name="SemShareKV (kept)", marker_color=colors.SEMSHARE,
                            hovertemplate="layer %{x}<br>%{y:.3f} MiB<extra>SemShareKV</extra>"))
    figure.update_layout(barmode="group", height=380, margin=dict(t=80, b=40), title="KV cache bytes per layer",
                         xaxis_title="layer", yaxis_title="KV cache (MiB)", legend=colors.TOP_LEFT_LEGEND)
    return figure


def _cuda_memory(cuda_memory: dict[str, int]) -> None:
    st.markdown("**CUDA memory**")
    cards = st.columns(max(len(cuda_memory), 1))
    for card, (name, value) in zip(cards, cuda_memory.items()):
        card.metric(name.replace("_", " "), f"{value / MIB:,.1f} MiB")
    st.caption("Device memory as PyTorch's CUDA allocator reports it for this run.")
