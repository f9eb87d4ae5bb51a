"""The frontier section of the benchmark page: a table per pair kind and the speed/quality plot."""

from __future__ import annotations

from pathlib import Path

from .plots import plt, save_figure
from .tables import markdown_table

COLUMNS = [("recompute_fraction", "recomputed", "{:.1%}"), ("ideal_speedup", "ideal speedup", "{:.2f}x"),
           ("speedup", "speedup", "{:.2f}x"), ("speedup_of_ideal", "share of ideal", "{:.0%}"),
           ("perplexity_ratio", "perplexity ratio", "{:.3f}"), ("gap_closed", "gap closed", "{:.0%}"),
           ("first_step_kl", "first-step KL", "{:.3f}"), ("first_token_agree", "first token agrees", "{}"),
           ("kv_saving", "KV bytes saved", "{:.0%}")]
LAYER0_ONLY = "hd 0.0, decay 0.95"
ALL_RECOMPUTED = "hd 1.0, decay 1.00"

DEFAULTS_TEXT = """How the defaults were chosen from this frontier, and what it says about recompute:

- On whole rewrites and meetings, ranking by deviation beats random ranking at the same
  budget. The controlled pair has no gap to close. The front-loaded row recomputes more in
  the first layers and less later, and also samples 64 observation queries. At a similar
  total it did worse than a slow decay (0.95 per layer) on whole rewrites. On meetings it
  did better, about as well as the same observation queries with the slow decay.
- Near-copies need almost none of it: on controlled rewrites every deviation-ranked budget,
  down to layer 0 alone, stays within about 1% of the full prefill's perplexity. Whole
  rewrites need the budget, and 0.4 at layer 1 closes their gap.
- So the defaults rank by deviation with decay 0.95 and let the layer-1 share follow the
  pair (`adaptive_hd`): the share of target tokens outside spans copied from the
  reference, between 0.1 and 0.4. Near-copies then run at the fast end of the frontier;
  whole rewrites and meetings get the full 0.4. The row 'defaults' is that adaptive
  setting; the other rows fix the share.
- Meetings of two different teams are not paraphrases: they share the agenda, not the
  text. Ranked by the last 8 tokens' attention, their gap hardly moves until nearly every
  token is recomputed. Part of it is eviction, which the row with every token recomputed
  isolates.
- Sampling 64 observation queries across the prompt ranks tokens for recompute and
  eviction by more than the last 8 tokens' attention. It lowered the meetings' ratio at
  every budget tried, closing up to about half of their gap, but cost up to a fifth more
  prefill time at the same budget, so it stays off by default.
- Eviction is not swept here. Each layer keeps 0.958^i of the tokens, ranked by the last
  tokens' attention averaged over 7 neighbours, which frees 42% of the cache. Ranked token
  by token, 41% eviction sent two presets' outputs into loops. With the averaging, every
  preset stayed readable (docs/method-choices.md)."""


def gap_closed(rows: list[dict]) -> None:
    """Add to each row the share of the perplexity gap of 'layer 0 only' that its setting closes."""
    for kind in {row["kind"] for row in rows}:
        same = [row for row in rows if row["kind"] == kind]
        floor = next((row["perplexity_ratio"] for row in same if row["setting"] == LAYER0_ONLY), None)
        for row in same:
            gap = None if floor is None else floor - 1.0
            row["gap_closed"] = None if not gap or gap <= 0 else (floor - row["perplexity_ratio"]) / gap


def findings(rows: list[dict]) -> list[str]:
    """Describe per pair kind the gap closed at the defaults and by random ranking, and the budget for half."""
    lines = []
    for kind in dict.fromkeys(row["kind"] for row in rows):
        same = {row["setting"]: row for row in rows if row["kind"] == kind}
        floor = same.get(LAYER0_ONLY)
        if floor is None or floor["perplexity_ratio"] <= 1.0:
            lines.append(f"- {kind}: with layer 0 alone the perplexity ratio is "
                         f"{floor['perplexity_ratio']:.3f}, so there is no gap for recompute to close."
                         if floor else f"- {kind}: no 'layer 0 only' run.")
            continue
        default = next((row for row in same.values() if row.get("is_default")), None)
        half = sorted((row for name, row in same.items() if name.startswith("hd ") and (row["gap_closed"] or 0) >= 0.5),
                      key=lambda row: row["recompute_fraction"])
        parts = [f"- {kind}: layer 0 alone gives a perplexity ratio of {floor['perplexity_ratio']:.3f}"]
        if default:
            parts.append(f"the defaults close {default['gap_closed']:.0%} of that gap with "
                         f"{default['recompute_fraction']:.1%} of token-layers recomputed "
                         f"(layer-1 share {default.get('effective_hd_fraction') or default['hd_fraction']:.2f})")
        if "random ranking" in same and same["random ranking"]["gap_closed"] is not None:
            closed = same["random ranking"]["gap_closed"]
            effect = f"closes {closed:.0%} of it" if closed >= 0 else f"widens it by {-closed:.0%}"
            parts.append(f"random ranking {effect} at layer-1 share 0.3")
        parts.append(f"the cheapest budget that closes half is {half[0]['setting']} "
                     f"({half[0]['recompute_fraction']:.1%} recomputed, ideal speedup {half[0]['ideal_speedup']:.1f}x)"
                     if half else "no fixed budget closes half")
        every = same.get(ALL_RECOMPUTED)
        if every:
            parts.append(f"with every token recomputed, so that only eviction differs from the full prefill, "
                         f"the ratio is {every['perplexity_ratio']:.3f}")
        lines.append(". ".join(part[0].upper() + part[1:] if index else part
                               for index, part in enumerate(parts)) + ".")
    return lines


def frontier_table(rows: list[dict]) -> str:
    body = [[("**" + row["setting"] + "**") if row.get("is_default") else row["setting"],
              *[_format(row.get(name), fmt) for name, _, fmt in COLUMNS]] for row in rows]
    return markdown_table(["setting", *[heading for _, heading, _ in COLUMNS]], body)


def frontier_plot(rows: list[dict], path: Path) -> Path:
    """Measured speedup against perplexity ratio, one panel per pair kind; signals marked apart."""
    kinds = list(dict.fromkeys(row["kind"] for row in rows))
    figure, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4.5), squeeze=False)
    for axis, kind in zip(axes[0], kinds):
        budgets = [row for row in rows if row["kind"] == kind and row["setting"].startswith("hd ")]
        others = [row for row in rows if row["kind"] == kind and not row["setting"].startswith("hd ")
                  and not row.get("is_default")]
        axis.scatter([r["perplexity_ratio"] for r in budgets], [r["speedup"] for r in budgets],
                     marker="o", label="budgets, deviation ranking")
        for row in others:
            axis.scatter([row["perplexity_ratio"]], [row["speedup"]], marker="x", label=row["setting"])
        for row in (r for r in rows if r["kind"] == kind and r["setting"].startswith("hd ")):
            axis.annotate(f"{row['hd_fraction']:.1f}/{row['recompute_decay']:.2f}",
                          (row["perplexity_ratio"], row["speedup"]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        for row in (r for r in rows if r["kind"] == kind and r.get("is_default")):
            axis.scatter([row["perplexity_ratio"]], [row["speedup"]], s=160, facecolors="none",
                         edgecolors="black", label="defaults")
        axis.axvline(1.0, color="grey", linewidth=0.8)
        axis.set(title=f"{kind}, {_tokens(rows, kind)} tokens", xlabel="perplexity ratio, SemShareKV / full",
                 ylabel="measured prefill speedup (x); labels: hd_fraction/decay")
        if axis is axes[0][0]:  # the panels share their legend
            axis.legend(fontsize=7)
    return save_figure(figure, path)


def _tokens(rows: list[dict], kind: str) -> int:
    return next(row["n_target_tokens"] for row in rows if row["kind"] == kind)


def _format(value, fmt: str) -> str:
    if value is None:
        return "-"
    return fmt.format(value)


def frontier_section(output: Path, part: str, record: dict) -> str:
    from .report import _run_line  # report imports this module, so import it at call time
    rows = record["rows"]
    gap_closed(rows)
    image = frontier_plot(rows, output / "img" / "bench-frontier-settings.png")
    sections = [
        "## Speed against quality over settings", "",
        "One pair of each kind at the same length; each setting changes the recompute budget "
        "(`hd_fraction`, the share recomputed at layer 1, and `recompute_decay`, its shrink per "
        "layer) or what ranks the tokens to recompute (`recompute_signal`). The full prefill is "
        "timed before and after each pair's settings and its median counts; each setting's "
        "SemShareKV prefill is the fastest of its runs. 'Gap closed' is the share of the "
        "perplexity gap of 'layer 0 only' (hd 0.0) to the full prefill that the setting closes. "
        "The defaults are in bold.", "",
        _run_line(record)]
    for kind in dict.fromkeys(row["kind"] for row in rows):
        sections += [f"**{kind}**", "", frontier_table([r for r in rows if r["kind"] == kind]), ""]
    sections += ["What the sweep shows:", "", *findings(rows), "", DEFAULTS_TEXT, "",
                 f"![speed against quality over settings](img/{image.name})", ""]
    return "\n".join(sections)
