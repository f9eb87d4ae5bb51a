"""Steps 10 and 11: decoding from the reused cache, then the run's time, memory and output quality."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app import colors
from app.tokens import chart_label
from app.walkthrough.context import StepContext
from app.walkthrough.style import escape_markdown, show_figure

# Phases of the SemShareKV prefill, in pipeline order, as named in RunResult.phase_seconds.
PHASE_ORDER = ("matching", "rearrange", "layers", "selection", "retention", "full prefill (fallback)")
PHASE_COLORS = ("#56B4E9", "#0072B2", "#009E73", "#E69F00", "#CC79A7", "#555555")


def render_decoding(ctx: StepContext) -> None:
    result = ctx.result
    kl = result.extras.get("first_step_kl")

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown("The last target token's final hidden state gives the first output token. Decoding then "
                    "runs token by token on the cache; each new token adds its K and V to every layer and is "
                    "never evicted.")
        agree = "**agree**" if result.first_token_agree else "**differ**"
        st.markdown(f"The first tokens of the full prefill and of SemShareKV {agree}. "
                    f"The largest logit difference is {result.max_abs_logit_diff:.2f}.")
        if kl is not None:
            st.markdown("How far apart the two first-token distributions are, with p from the full prefill and "
                        "q from SemShareKV (Kullback-Leibler divergence):")
            st.latex(rf"D_{{KL}}(p \,\|\, q) = \sum_w p(w) \log\frac{{p(w)}}{{q(w)}} = {kl:.3f}")
        st.markdown(f"Word overlap of the two outputs (ROUGE-L F1): **{result.rouge_l_outputs:.2f}**.")
    with figure_column:
        show_figure(first_token_figure(result), key="wt_decoding", height=440)
        full_column, semshare_column = st.columns(2)
        for column, title, text in ((full_column, "Full prefill output", result.output_full),
                                    (semshare_column, "SemShareKV output", result.output_semshare)):
            with column.container(border=True):
                st.markdown(f"**{title}**")
                st.markdown(escape_markdown(text.strip()) or "*(no tokens generated: Max new tokens is 0)*")


def first_token_figure(result) -> go.Figure:
    figure = go.Figure()
    for name, probs, color in (("full prefill", result.first_token_probs_full, colors.FULL_PREFILL),
                               ("SemShareKV", result.first_token_probs_semshare, colors.SEMSHARE)):
        figure.add_trace(go.Bar(
            y=[chart_label(item.token) for item in probs], x=[item.prob for item in probs], orientation="h",
            name=name, marker=dict(color=color), hovertemplate="%{y}: %{x:.1%}<extra>" + name + "</extra>"))
    figure.update_layout(title="First output token: most likely candidates", barmode="group",
                         xaxis_title="probability", xaxis_tickformat=".0%", yaxis=dict(autorange="reversed"))
    return figure


def render_result(ctx: StepContext) -> None:
    result = ctx.result
    saved = 1.0 - result.kv_bytes_semshare / max(result.kv_bytes_full, 1)

    cards = st.columns(4)
    cards[0].metric("Prefill speedup", f"{result.speedup:.2f}×")
    cards[1].metric("Ideal speedup", f"{result.ideal_speedup:.2f}×",
                    help="1 / the share of layer-token pairs recomputed: the speedup if matching and "
                         "bookkeeping cost nothing.")
    cards[2].metric("KV memory saved", f"{saved:.0%}")
    cards[3].metric("First token agrees", "yes" if result.first_token_agree else "no")

    text_column, figure_column = st.columns([2, 3], gap="large")
    with text_column:
        st.markdown(f"The full prefill took **{result.prefill_seconds_full:.2f} s**, SemShareKV "
                    f"**{result.prefill_seconds_semshare:.2f} s** on {result.device} with {result.model_name}. "
                    f"The reference's own prefill ({result.reference_prefill_seconds:.2f} s) is not counted: a "
                    "server did it earlier, when it served the reference.")
        if result.speedup < 1.0:
            st.markdown(f"SemShareKV was **slower** in this run. With {result.n_target_tokens:,} tokens the fixed "
                        "costs of matching and selection weigh heavily, and on a busy machine timings swing. The "
                        f"ideal speedup of {result.ideal_speedup:.1f}× is what the recompute share alone would give.")
        st.markdown("The SemShareKV paper (Zhao and Mastorakis, 2025) reports up to 6.25× faster time to first token and 42% less GPU memory for "
                    "5,000-token prompts on 7-8B models. Below about 700 tokens the gain is small, because "
                    "matching and bookkeeping are not yet paid back.")
        st.markdown("**Try it:** on Explore, change one slider (HD share, recompute decay, retention decay) "
                    "and run again. Which costs quality first: less recompute or less memory?")
    with figure_column:
        show_figure(time_figure(result), key="wt_time", height=340)
        show_figure(memory_figure(result), key="wt_memory", height=240)
        st.caption("Timings on a shared CPU vary from run to run by tens of percent; compare runs made "
                   "one after the other.")


def time_figure(result) -> go.Figure:
    rows = ["full prefill", "SemShareKV"]
    figure = go.Figure()
    figure.add_trace(go.Bar(y=[rows[0]], x=[result.prefill_seconds_full], orientation="h", name="full prefill",
                            marker=dict(color=colors.FULL_PREFILL), hovertemplate="%{x:.3f} s<extra></extra>"))
    phases = [phase for phase in PHASE_ORDER if phase in result.phase_seconds]
    phases += [phase for phase in result.phase_seconds if phase not in PHASE_ORDER]
    for index, phase in enumerate(phases):
        seconds, color = result.phase_seconds[phase], PHASE_COLORS[index % len(PHASE_COLORS)]
        figure.add_trace(go.Bar(y=[rows[1]], x=[seconds], orientation="h", name=phase, marker=dict(color=color),
                                hovertemplate="%{x:.3f} s<extra>" + phase + "</extra>"))
    figure.update_layout(barmode="stack", title="Prefill time, SemShareKV by phase", xaxis_title="seconds",
                         yaxis=dict(autorange="reversed"), legend_traceorder="normal")
    return figure


def memory_figure(result) -> go.Figure:
    figure = go.Figure(go.Bar(
        y=["full prefill", "SemShareKV"], x=[result.kv_bytes_full / 1e6, result.kv_bytes_semshare / 1e6],
        orientation="h", marker=dict(color=[colors.FULL_PREFILL, colors.SEMSHARE]),
        hovertemplate="%{x:.1f} MB<extra></extra>"))
    figure.update_layout(title="KV cache after prefill", xaxis_title="MB", yaxis=dict(autorange="reversed"))
    return figure
