"""The current run beside the previous one: what changed in the settings, and what it did."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import semshare_core as ss
from app import colors
from app.param_specs import SPECS
from app.views.charts import show_chart


def render(current: ss.RunResult, previous: ss.RunResult) -> None:
    st.markdown("**Settings that differ**")
    differences = setting_differences(previous, current)
    if differences.empty:
        st.caption("Both runs used the same model, prompts and parameters, so differences below "
                   "come from timing noise alone.")
    else:
        st.dataframe(differences, hide_index=True, key="compare_settings")

    st.markdown("**Headline metrics**")
    st.dataframe(metric_table(previous, current), hide_index=True, key="compare_metrics")
    st.caption("Speedup is measured once per run, so small differences in it can be timing noise.")
    show_chart(recompute_share_figure(previous, current), key="compare_recompute_share")


def setting_differences(previous: ss.RunResult, current: ss.RunResult) -> pd.DataFrame:
    """Return one row per setting whose value differs between the runs: setting, previous, current."""
    rows = []
    for name, before, after in (("model", previous.model_name, current.model_name),
                                ("device", previous.device, current.device)):
        if before != after:
            rows.append((name, before, after))
    for role in ("reference", "target"):
        before, after = getattr(previous, role), getattr(current, role)
        if before.text != after.text:
            rows.append((f"{role} prompt", f"{before.n_tokens:,} tokens", f"{after.n_tokens:,} tokens (changed)"))
    before_params, after_params = previous.params.to_dict(), current.params.to_dict()
    for name in after_params:
        if before_params.get(name) != after_params[name]:
            # The sidebar's label, so that the row names the control a user moved.
            label = SPECS[name].label if name in SPECS else name
            rows.append((label, str(before_params.get(name)), str(after_params[name])))
    return pd.DataFrame(rows, columns=["setting", "previous run", "this run"])


def headline_metrics(result: ss.RunResult) -> dict[str, str]:
    """Return the headline metrics of one run as display strings, in a fixed order."""
    saved = 1.0 - result.kv_bytes_semshare / max(result.kv_bytes_full, 1)
    metrics = {
        "prefill speedup": f"{result.speedup:.2f}×",
        "recompute share": f"{result.recompute_fraction:.1%}",
        "KV memory saved": f"{saved:.1%}",
    }
    if "perplexity_semshare" in result.extras:
        metrics["perplexity, full / SemShareKV"] = (f"{result.extras['perplexity_full']:.2f} / "
                                                    f"{result.extras['perplexity_semshare']:.2f}")
    metrics["first token agrees"] = "yes" if result.first_token_agree else "no"
    metrics["ROUGE-L of the outputs"] = f"{result.rouge_l_outputs:.3f}"
    metrics["LSH similarity"] = f"{result.similarity:.3f}"
    metrics["reused the reference cache"] = "yes" if result.reused else "no (full prefill)"
    return metrics


def metric_table(previous: ss.RunResult, current: ss.RunResult) -> pd.DataFrame:
    before, after = headline_metrics(previous), headline_metrics(current)
    names = list(after) + [name for name in before if name not in after]
    rows = [(name, before.get(name, "not measured"), after.get(name, "not measured")) for name in names]
    return pd.DataFrame(rows, columns=["metric", "previous run", "this run"])


def recompute_share_figure(previous: ss.RunResult, current: ss.RunResult) -> go.Figure:
    figure = go.Figure()
    for name, result, color, dash in (("previous run", previous, colors.FULL_PREFILL, "dash"),
                                      ("this run", current, colors.SEMSHARE, "solid")):
        share = np.asarray(result.recomputed, dtype=bool).mean(axis=1)  # (L,)
        figure.add_trace(go.Scatter(x=np.arange(len(share)), y=share, mode="lines+markers", name=name,
                                    line=dict(color=color, dash=dash),
                                    hovertemplate=f"{name}<br>layer %{{x}}<br>%{{y:.1%}} recomputed<extra></extra>"))
    figure.update_layout(height=360, margin=dict(t=80, b=40), title="Recompute share per layer",
                         legend=colors.TOP_LEFT_LEGEND, xaxis_title="layer",
                         yaxis=dict(title="target tokens recomputed (share)", tickformat=".0%", rangemode="tozero"))
    return figure
