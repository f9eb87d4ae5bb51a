"""The speed/quality frontier: many recompute settings on one pair of each kind at one length."""

from __future__ import annotations

from ..params import PipelineParams
from .context import BenchContext
from .meetings import DEFAULT_TEAMS, meeting_pair
from .rewrites import controlled_pair, long_whole_pair
from .sweep import prepare, run_setting, time_full

# Recompute budgets from "layer 0 only" to "every token", then the ranking signals at two budgets.
BUDGETS = [(0.0, 0.95), (0.1, 0.9), (0.1, 0.95), (0.2, 0.9), (0.2, 0.95), (0.3, 0.9), (0.3, 0.95),
           (0.4, 0.9), (0.4, 0.95), (0.6, 0.95), (0.8, 0.98), (1.0, 1.0)]
SIGNALS = [("mismatch", 0.2, 0.95), ("mismatch", 0.4, 0.95), ("random", 0.2, 0.95), ("random", 0.4, 0.95)]


def frontier_settings(base: PipelineParams) -> dict[str, PipelineParams]:
    """Named settings: every budget with the deviation signal, then the other signals."""
    settings = {f"hd {hd:.1f}, decay {decay:.2f}": base.replace(hd_fraction=hd, recompute_decay=decay)
                for hd, decay in BUDGETS}
    for signal, hd, decay in SIGNALS:
        settings[f"hd {hd:.1f}, decay {decay:.2f}, {signal}"] = base.replace(
            hd_fraction=hd, recompute_decay=decay, recompute_signal=signal)
    return settings


def frontier(ctx: BenchContext) -> list[dict]:
    length, tokens = ctx.options.frontier_length, 2 * ctx.options.continuation_tokens
    pairs = {
        "controlled (30% rewritten)": lambda: controlled_pair(ctx.data, 0, 0.3, length, continuation_tokens=tokens,
                                                              count_tokens=ctx.count_tokens),
        "whole rewrites": lambda: long_whole_pair(ctx.data, 0, length, "int", tokens, ctx.count_tokens),
        "meetings": lambda: meeting_pair(ctx.data, *DEFAULT_TEAMS[0], length, tokens, ctx.count_tokens),
    }
    settings = frontier_settings(ctx.params)
    rows = []
    for kind, build in pairs.items():
        pair = build()
        prepared = prepare(ctx.bundle, pair, ctx.trim_continuation(pair.continuation))
        pair_rows = []
        for name, params in settings.items():
            row = run_setting(ctx.bundle, prepared, params, repeats=ctx.options.repeats + 1)
            row.update(kind=kind, setting=name, hd_fraction=params.hd_fraction,
                       recompute_decay=params.recompute_decay, recompute_signal=params.recompute_signal,
                       is_default=params == ctx.params)
            pair_rows.append(row)
            ctx.progress(f"{kind} [{name}] frac {row['recompute_fraction']:.3f}: speedup {row['speedup']:.2f}x "
                         f"(ideal {row['ideal_speedup']:.2f}x), perplexity ratio {row['perplexity_ratio']:.3f}")
        time_full(ctx.bundle, prepared, 2, pair_rows)
        rows += pair_rows
    return rows
