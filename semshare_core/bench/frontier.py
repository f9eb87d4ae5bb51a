"""The speed/quality frontier: many recompute settings on one pair of each kind at one length."""

from __future__ import annotations

from ..params import PipelineParams
from .context import BenchContext
from .meetings import DEFAULT_TEAMS, meeting_pair
from .rewrites import controlled_pair, long_whole_pair
from .sweep import prepare, run_setting, time_full

# Recompute budgets from "layer 0 only" to "every token", ranked by deviation.
BUDGETS = [(0.0, 0.95), (0.1, 0.9), (0.1, 0.95), (0.2, 0.9), (0.2, 0.95), (0.3, 0.9), (0.3, 0.95),
           (0.4, 0.9), (0.4, 0.95), (0.6, 0.95), (0.8, 0.98), (1.0, 1.0)]
# Other ways to choose what to recompute, each against a deviation-ranked budget above.
CANDIDATES = [
    ("random ranking", dict(hd_fraction=0.3, recompute_signal="random")),
    ("copied-span mismatch first", dict(hd_fraction=0.3, recompute_signal="mismatch")),
    ("hot and cold weighted alike", dict(hd_fraction=0.3, hot_weight=1.0, cold_weight=1.0)),
    ("32 tail tokens", dict(hd_fraction=0.3, tail_tokens=32)),
    ("64 observation queries", dict(hd_fraction=0.3, observation_queries=64)),
    ("64 observation queries, hd 0.2", dict(hd_fraction=0.2, observation_queries=64)),
    ("64 observation queries, hd 0.4", dict(hd_fraction=0.4, observation_queries=64)),
    ("front-loaded: hd 0.6, decay 0.85", dict(hd_fraction=0.6, recompute_decay=0.85, observation_queries=64)),
]


def frontier_settings(base: PipelineParams) -> dict[str, PipelineParams]:
    """Named settings: every budget ranked by deviation, then the other candidates, then `base`."""
    plain = base.replace(adaptive_hd=False, recompute_signal="deviation", observation_queries=0, tail_tokens=8,
                         hot_weight=0.5, cold_weight=0.1)
    settings = {f"hd {hd:.1f}, decay {decay:.2f}": plain.replace(hd_fraction=hd, recompute_decay=decay)
                for hd, decay in BUDGETS}
    for name, changes in CANDIDATES:
        settings[name] = plain.replace(**{"recompute_decay": 0.95, **changes})
    if base not in settings.values():
        settings["defaults"] = base
    return settings


def frontier(ctx: BenchContext) -> list[dict]:
    # NOTE: each kind has one pair and a 64-token continuation, so neighbouring settings can
    # differ by a few percent in perplexity from noise alone. Read trends across budgets.
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
