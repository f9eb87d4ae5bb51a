"""Benchmark part 'observations': the three observations on a controlled, a whole-rewrite and a meeting pair."""

from __future__ import annotations

import math

import torch

from ..observations import observe_result, retention_observation
from ..perplexity import continuation_token_ids
from .context import BenchContext
from .meetings import DEFAULT_TEAMS, meeting_pair
from .onestop import story_names
from .pairs import Pair
from .rewrites import controlled_pair, whole_pair
from .settings import DEFAULT

WHOLE_STORY = "Amsterdam"


def observation_pairs(ctx: BenchContext) -> list[tuple[str, Pair]]:
    """Build a controlled pair (30% rewritten) and a meeting pair at the observation length, and a whole rewrite."""
    length = ctx.options.observation_length
    continuation = 2 * ctx.options.continuation_tokens
    pairs = [("controlled rewrite", controlled_pair(ctx.data, 0, 0.3, length, continuation_tokens=continuation,
                                                    count_tokens=ctx.count_tokens))]
    if WHOLE_STORY in story_names(ctx.data):
        pairs.append(("whole rewrite", whole_pair(ctx.data, WHOLE_STORY, "int", continuation, ctx.count_tokens)))
    pairs.append(("meeting", meeting_pair(ctx.data, *DEFAULT_TEAMS[0], length, continuation, ctx.count_tokens)))
    return pairs


def observations(ctx: BenchContext) -> list[dict]:
    rows = []
    for kind, pair in observation_pairs(ctx):
        run = ctx.run(pair, setting=DEFAULT)
        result = ctx.last_result
        observed = observe_result(ctx.bundle, result)
        token_ids = torch.tensor(result.target.token_ids, device=ctx.bundle.device)
        continuation_ids = continuation_token_ids(ctx.bundle.tokenizer, ctx.trim_continuation(pair.continuation))
        retention = retention_observation(ctx.bundle.model, token_ids, continuation_ids, ctx.params)
        rows.append({
            "kind": "observations", "pair": pair.name, "pair_kind": kind,
            "n_target_tokens": result.n_target_tokens, "perplexity_full": run["perplexity_full"],
            "rank_correlation": [None if math.isnan(rho) else float(rho) for rho in observed["rank_correlation"]],
            "recovery": observed["recovery"].to_dict(), "retention": retention,
        })
        ctx.progress(_progress_line(rows[-1]))
    return rows


def _progress_line(row: dict) -> str:
    rhos = [rho for rho in row["rank_correlation"] if rho is not None]
    median_rho = sorted(rhos)[len(rhos) // 2] if rhos else float("nan")
    shares = row["recovery"]["shares"][0]
    return (f"{row['pair']} observations: median adjacent-layer rho {median_rho:.2f}, tokens for 55% of "
            f"attention {shares[0]:.0%} at layer 0 and {shares[-1]:.0%} at the last layer")
