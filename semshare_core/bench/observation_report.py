"""Section and plots of the 'observations' part, with statements of where the model agrees with SemShareKV.

The SemShareKV paper (Zhao and Mastorakis, arXiv 2509.24832) reports for Llama-3.1-8B,
Mistral-7B and MPT-7B an adjacent-layer rho above 0.85 (about 0.95 in middle layers)
and attention recovery falling with depth. In its measurements a decaying retention
schedule beats constant and growing ones of equal total.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from .plots import save_figure  # noqa: E402
from .tables import markdown_table  # noqa: E402

PAPER_RHO = 0.85
IMAGES = "img"


def observations_section(output: Path, part: str, record: dict) -> str:
    """Write the Markdown section: the three observations, a table and a plot each, and the agreement statements."""
    from .report import _run_line  # report imports this module, so import it at call time

    rows = record["rows"]
    images = {name: plot(rows, output / IMAGES / f"bench-observations-{name}.png")
              for name, plot in (("rank", rank_plot), ("recovery", recovery_plot), ("retention", retention_plot))}
    window = rows[0]["recovery"]["window"] if rows else 32
    tail = record.get("params", {}).get("tail_tokens", "tail")
    return "\n".join([
        "## The three observations", "",
        "The SemShareKV paper (Zhao and Mastorakis, arXiv 2509.24832) bases its design on three observations "
        "on Llama-3.1-8B, Mistral-7B and MPT-7B. Here they are measured on the embedded 135M model over one "
        "controlled rewrite (30% of aligned sentences), one whole rewrite (Advanced against Intermediate) and "
        "one meeting pair, each compared at the defaults first.", "",
        _run_line(record),
        summary_list(rows), "",
        "### 1. High-deviation tokens persist across layers", "",
        "Spearman's rho between the per-token KV deviation of the rearranged reference cache (before any "
        "recompute) at layer i and at layer i+1. 'Middle layers' are the middle third of the layer pairs.", "",
        rank_table(rows), "",
        rank_statement(rows), "",
        f"![rank correlation between adjacent layers]({IMAGES}/{images['rank'].name})", "",
        "### 2. Deeper layers attend to fewer tokens", "",
        f"Attention recovery: the fewest tokens that hold 55% (and 90%) of the attention the last {window} "
        "prompt queries give, averaged over those queries and all heads, from the full prefill of the "
        "target. 'Trend' is Spearman's rho between the layer index and the 55% count: negative means "
        "fewer tokens in deeper layers.", "",
        recovery_table(rows), "",
        recovery_statement(rows), "",
        f"![attention recovery by layer]({IMAGES}/{images['recovery'].name})", "",
        "### 3. Deeper layers are more redundant", "",
        "Continuation perplexity after evicting tokens from the full prefill's cache (every token "
        "recomputed, so only the eviction differs), with per-layer budgets that decay, stay constant or "
        "grow with depth and keep the same total. The first total is the defaults' schedule; the others "
        "tighten its decay. Each layer keeps the tokens that SemShareKV's retention ranks highest: "
        f"those receiving most attention from the last {tail} prompt tokens. 'Kept' is the measured share "
        "of token-layer entries kept; a tight schedule bottoms out at the fewest tokens a layer keeps.", "",
        retention_table(rows), "",
        retention_statement(rows), "",
        f"![perplexity by retention schedule]({IMAGES}/{images['retention'].name})", ""])


def _rhos(row: dict) -> np.ndarray:
    return np.array([np.nan if rho is None else rho for rho in row["rank_correlation"]], dtype=float)


def _middle(values: np.ndarray) -> np.ndarray:
    third = len(values) // 3
    return values[third:len(values) - third]


def _agreement(hits: int, total: int) -> str:
    if total and hits == total:
        return "agrees"
    return "agrees in part" if hits else "does not agree"


def rank_counts(rows: list[dict]) -> tuple[int, int]:
    """Count the pairs whose median adjacent-layer rho reaches the 7-8B models' 0.85, and the pairs measured."""
    medians = [float(np.nanmedian(_rhos(row))) for row in rows if np.isfinite(_rhos(row)).any()]
    return sum(median >= PAPER_RHO for median in medians), len(medians)


def _recovery_halves(row: dict) -> tuple[float, float]:
    """Return the median share of tokens holding 55% of the attention over the shallower and the deeper half of the layers."""
    shares = np.asarray(row["recovery"]["shares"][0])
    middle = len(shares) // 2
    return float(np.median(shares[:middle])), float(np.median(shares[middle:]))


def recovery_counts(rows: list[dict]) -> tuple[int, int]:
    """Count the pairs whose deeper half of the layers needs fewer tokens for 55% of the attention, and the pairs measured."""
    return sum(deep < shallow for shallow, deep in map(_recovery_halves, rows)), len(rows)


def retention_counts(rows: list[dict]) -> tuple[int, int]:
    """Count the (pair, total) cases in which the decaying schedule has the lowest perplexity, and the cases measured."""
    groups = [schedules for row in rows for _, schedules in _retention_groups(row)]
    wins = sum(min(s, key=lambda name: s[name]["perplexity"]) == "decaying" for s in groups)
    return wins, len(groups)


def summary_list(rows: list[dict]) -> str:
    """List per observation whether the 135M model agrees with the 7-8B models, with the counts."""
    lines = []
    for label, (hits, total), unit in (
            ("1 (high-deviation tokens persist across layers)", rank_counts(rows), "pairs with median rho >= 0.85"),
            ("2 (deeper layers attend to fewer tokens)", recovery_counts(rows),
             "pairs whose deeper half of the layers needs fewer tokens"),
            ("3 (deeper layers are more redundant)", retention_counts(rows),
             "(pair, total) cases in which the decaying schedule has the lowest perplexity")):
        lines.append(f"- Observation {label}: the 135M model {_agreement(hits, total)} ({hits} of {total} {unit}).")
    return "\n".join(lines)


def rank_table(rows: list[dict]) -> str:
    body = []
    for row in rows:
        rhos = _rhos(row)
        valid = rhos[np.isfinite(rhos)]
        body.append([row["pair"], row["n_target_tokens"], _fmt(np.nanmedian(rhos) if valid.size else None),
                     _fmt(valid.min() if valid.size else None),
                     _fmt(np.nanmedian(_middle(rhos)) if np.isfinite(_middle(rhos)).any() else None),
                     f"{int((valid >= PAPER_RHO).sum())} of {len(rhos)}"])
    return markdown_table(["pair", "target tokens", "median rho", "lowest rho", "middle layers, median rho",
                           f"layer pairs with rho >= {PAPER_RHO}"], body)


def rank_statement(rows: list[dict]) -> str:
    medians = [float(np.nanmedian(_rhos(row))) for row in rows if np.isfinite(_rhos(row)).any()]
    if not medians:
        return "No pair had varying deviations, so observation 1 could not be measured."
    above = sum(median >= PAPER_RHO for median in medians)
    if above == len(medians):
        verdict = "agrees with the SemShareKV paper's 7-8B models"
    elif above:
        verdict = "agrees with the SemShareKV paper's 7-8B models on some pairs only"
    else:
        verdict = "does not reach the level of the 7-8B models"
    return (f"The 135M model {verdict}: the median rho per pair is {', '.join(f'{m:.2f}' for m in medians)}, "
            f"against above {PAPER_RHO} (about 0.95 in middle layers) reported for 7-8B models. Where rho is "
            "high, tokens chosen by deviation at one layer remain good choices at the next, which is what "
            "carrying the recompute set down the layers relies on.")


def _trend(counts: list[int]) -> float:
    if len(set(counts)) < 2:
        return 0.0
    return float(spearmanr(np.arange(len(counts)), counts).statistic)


def recovery_table(rows: list[dict]) -> str:
    body = []
    for row in rows:
        recovery = row["recovery"]
        counts_55, counts_90 = recovery["counts"][0], recovery["counts"][-1]
        middle = len(counts_55) // 2
        body.append([row["pair"], recovery["n_tokens"],
                     *(f"{counts_55[i]} ({counts_55[i] / recovery['n_tokens']:.0%})" for i in (0, middle, -1)),
                     *(f"{counts_90[i]} ({counts_90[i] / recovery['n_tokens']:.0%})" for i in (0, middle, -1)),
                     f"{_trend(counts_55):+.2f}"])
    return markdown_table(["pair", "target tokens", "55%: first layer", "55%: middle layer", "55%: last layer",
                           "90%: first layer", "90%: middle layer", "90%: last layer", "trend (55%)"], body)


def recovery_statement(rows: list[dict]) -> str:
    """Compare the 55% share of the shallower half of the layers with the deeper half, per pair."""
    if not rows:
        return "No pair was measured."
    halves = [_recovery_halves(row) for row in rows]
    fewer, total = recovery_counts(rows)
    trends = [_trend(row["recovery"]["counts"][0]) for row in rows]
    if fewer == total:
        verdict = "agrees with the SemShareKV paper's 7-8B models: the deeper half of the layers attends to fewer tokens"
    elif fewer:
        verdict = "agrees only in part: the deeper half of the layers attends to fewer tokens on some pairs"
    else:
        verdict = "does not agree with the SemShareKV paper's 7-8B models: the deeper layers do not attend to fewer tokens"
    first = ", ".join(f"{row['recovery']['shares'][0][0]:.0%}" for row in rows)
    medians = ", ".join(f"{shallow:.1%} and {deep:.1%}" for shallow, deep in halves)
    return (f"The 135M model {verdict}. 55% of the attention sits on {first} of the tokens at the first layer. "
            f"Over the shallower and the deeper half of the layers, the median is {medians} per pair. "
            f"The trend over all layers is {', '.join(f'{t:+.2f}' for t in trends)}.")


def _retention_groups(row: dict) -> list[tuple[float, dict]]:
    """Group a pair's retention entries by total: (target share, {schedule: entry}) in the order measured."""
    groups: dict[float, dict] = {}
    for entry in row["retention"]:
        if entry["schedule"] != "none":
            groups.setdefault(round(entry["target_share"], 4), {})[entry["schedule"]] = entry
    return list(groups.items())


def retention_table(rows: list[dict]) -> str:
    body = []
    for row in rows:
        full = next(entry["perplexity"] for entry in row["retention"] if entry["schedule"] == "none")
        for share, schedules in _retention_groups(row):
            best = min(schedules, key=lambda name: schedules[name]["perplexity"])
            body.append([row["pair"], f"{share:.0%}", f"{full:.2f}",
                         *(f"{schedules[name]['perplexity']:.2f} (kept {schedules[name]['kept_share']:.0%})"
                           for name in ("decaying", "constant", "growing")), best])
    return markdown_table(["pair", "mean kept share", "perplexity, no eviction", "decaying", "constant", "growing",
                           "lowest"], body)


def retention_statement(rows: list[dict]) -> str:
    wins, total = retention_counts(rows)
    if not total:
        return "No pair was measured."
    if wins == total:
        verdict = "agrees with the SemShareKV paper's 7-8B models"
    elif wins >= total / 2:
        verdict = "agrees only in part"
    else:
        verdict = "does not agree with the SemShareKV paper's 7-8B models"
    first_totals = [_retention_groups(row)[0][1] for row in rows if _retention_groups(row)]
    spread = max(max(entry["perplexity"] for entry in s.values()) / min(entry["perplexity"] for entry in s.values())
                 for s in first_totals) - 1.0
    return (f"The decaying schedule gave the lowest perplexity in {wins} of {total} (pair, total) cases, "
            f"so the 135M model {verdict} on observation 3. At the defaults' total the three schedules differ "
            f"by at most {spread:.1%} in perplexity on any pair.")


def _fmt(value) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.2f}"


def rank_plot(rows: list[dict], path: Path) -> Path:
    """Plot the adjacent-layer rho of each pair against the layer index."""
    figure, axis = plt.subplots(figsize=(7, 4))
    for row in rows:
        rhos = _rhos(row)
        axis.plot(np.arange(len(rhos)), rhos, marker="o", markersize=3, label=row["pair"])
    axis.axhline(PAPER_RHO, color="grey", linestyle="--", linewidth=0.8, label="0.85 (7-8B models)")
    axis.set(xlabel="layer i (rho between layers i and i+1)", ylabel="Spearman rho", ylim=(-0.1, 1.05),
             title="Observation 1: deviation rank correlation")
    axis.legend(fontsize=8)
    return save_figure(figure, path)


def recovery_plot(rows: list[dict], path: Path) -> Path:
    """Plot the share of tokens holding 55% and 90% of the attention per layer, one line per pair."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    for row in rows:
        recovery = row["recovery"]
        for axis, threshold, shares in zip(axes, recovery["thresholds"], recovery["shares"]):
            axis.plot(np.arange(len(shares)), 100 * np.asarray(shares), marker="o", markersize=3, label=row["pair"])
            axis.set(xlabel="layer", ylabel="tokens (% of the prompt)",
                     title=f"Observation 2: tokens for {threshold:.0%} of attention")
    axes[0].legend(fontsize=8)
    return save_figure(figure, path)


def retention_plot(rows: list[dict], path: Path) -> Path:
    """Plot perplexity over the no-eviction perplexity against the kept share per schedule, one panel per pair."""
    figure, axes = plt.subplots(1, max(len(rows), 1), figsize=(4.2 * max(len(rows), 1), 4), squeeze=False)
    for axis, row in zip(axes[0], rows):
        full = next(entry["perplexity"] for entry in row["retention"] if entry["schedule"] == "none")
        groups = _retention_groups(row)
        for name in ("decaying", "constant", "growing"):
            points = sorted((share, schedules[name]["perplexity"] / full) for share, schedules in groups)
            axis.plot([100 * share for share, _ in points], [ratio for _, ratio in points], marker="o", label=name)
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.set(xlabel="mean kept share (%)", ylabel="perplexity / no eviction", title=row["pair"])
        axis.title.set_fontsize(9)
        axis.legend(fontsize=8)
    figure.suptitle("Observation 3: retention schedules of equal total")
    return save_figure(figure, path)
