"""PNG plots of the benchmark page (matplotlib, without a display)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from .metrics import aggregate  # noqa: E402


def save_figure(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def controlled_plot(rows: list[dict], path: Path) -> Path:
    """Speedup and perplexity ratio against the share of rewritten sentences, one line per length."""
    table = aggregate(rows, ["length", "share"], ["speedup", "ideal_speedup", "perplexity_ratio"])
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for length in sorted({entry["length"] for entry in table}):
        entries = sorted((e for e in table if e["length"] == length), key=lambda e: e["share"])
        shares = [100 * e["share"] for e in entries]
        left.plot(shares, [e["speedup"]["median"] for e in entries], marker="o", label=f"{length} tokens")
        left.plot(shares, [e["ideal_speedup"]["median"] for e in entries], linestyle=":", color="grey")
        right.plot(shares, [e["perplexity_ratio"]["median"] for e in entries], marker="o", label=f"{length} tokens")
    left.set(xlabel="rewritten sentences (%)", ylabel="prefill speedup (x); dotted: ideal",
             title="Speedup over full prefill")
    right.axhline(1.0, color="grey", linewidth=0.8)
    right.set(xlabel="rewritten sentences (%)", ylabel="perplexity SemShareKV / full",
              title="Continuation perplexity ratio")
    left.legend()
    right.legend()
    return save_figure(figure, path)


def length_plot(rows: list[dict], path: Path) -> Path:
    """Prefill time of both methods against the target length."""
    rows = sorted(rows, key=lambda row: row["n_target_tokens"])
    tokens = [row["n_target_tokens"] for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(tokens, [row["prefill_seconds_full"] for row in rows], marker="o", label="full prefill")
    left.plot(tokens, [row["prefill_seconds_semshare"] for row in rows], marker="o", label="SemShareKV")
    left.set(xlabel="target tokens", ylabel="prefill seconds", title="Prefill time")
    left.legend()
    right.plot(tokens, [row["speedup"] for row in rows], marker="o", label="measured")
    right.plot(tokens, [row["ideal_speedup"] for row in rows], linestyle=":", label="ideal (1 / recomputed share)")
    right.axhline(1.0, color="grey", linewidth=0.8)
    right.set(xlabel="target tokens", ylabel="speedup (x)", title="Speedup over full prefill")
    right.legend()
    return save_figure(figure, path)


def ablation_plot(rows: list[dict], path: Path) -> Path:
    """Perplexity ratio of each setting, one group of bars per pair, on a log scale."""
    pairs = list(dict.fromkeys(row["pair"] for row in rows))
    settings = list(dict.fromkeys(row["setting"] for row in rows))
    figure, axis = plt.subplots(figsize=(10, 0.45 * len(settings) * len(pairs) + 1.5))
    height = 0.8 / len(pairs)
    for offset, pair in enumerate(pairs):
        by_setting = {row["setting"]: row.get("perplexity_ratio") for row in rows if row["pair"] == pair}
        values = [by_setting.get(setting) or float("nan") for setting in settings]
        axis.barh([i + offset * height for i in range(len(settings))], values, height=height, label=pair)
    axis.set_yticks([i + 0.4 - height / 2 for i in range(len(settings))], settings)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.axvline(1.0, color="grey", linewidth=0.8)
    axis.set(xlabel="continuation perplexity, setting / full prefill (log scale)", title="Ablations")
    axis.legend()
    return save_figure(figure, path)


def frontier_plot(rows_by_part: dict[str, list[dict]], path: Path) -> Path:
    """Speedup against perplexity ratio of every run that has both."""
    figure, axis = plt.subplots(figsize=(7, 5))
    for part, rows in rows_by_part.items():
        points = [(row["perplexity_ratio"], row["speedup"]) for row in rows
                  if row.get("perplexity_ratio") is not None and row.get("speedup") is not None]
        if points:
            axis.scatter(*zip(*points), label=part, alpha=0.7)
    axis.axvline(1.0, color="grey", linewidth=0.8)
    axis.axhline(1.0, color="grey", linewidth=0.8)
    axis.set_xscale("log")
    axis.set(xlabel="continuation perplexity, SemShareKV / full (log scale)", ylabel="prefill speedup (x)",
             title="Speed against quality, all runs")
    if axis.get_legend_handles_labels()[0]:
        axis.legend()
    return save_figure(figure, path)
