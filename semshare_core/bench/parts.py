"""The benchmark's parts; each returns its result rows."""

from __future__ import annotations

from .bible import bible_pair
from .compression import compression
from .context import BenchContext
from .frontier import frontier
from .meetings import DEFAULT_TEAMS, meeting_pair
from .observations import observations
from .onestop import story_names
from .prefix import prefix_prefill_seconds
from .rewrites import controlled_pair, whole_pair
from .settings import DEFAULT, ablation_settings
from .verse_matching import verse_accuracy

# Spacing between the first stories of the controlled pairs, so that pairs share no story.
_STORY_STRIDE = 17
# Stories of the whole-rewrite pairs and the smoke test, by name.
WHOLE_STORIES = ("Amsterdam", "Amazon", "Copyright", "Cigarettes", "Crowdfunding")
SMOKE_STORY = "Amsterdam"
MEETING_INSTRUCTION = "Summarize the whole meeting."


def controlled(ctx: BenchContext) -> list[dict]:
    rows = []
    for length in ctx.options.controlled_lengths:
        for share in ctx.options.shares:
            for index in range(ctx.options.pairs):
                pair = controlled_pair(ctx.data, index * _STORY_STRIDE, share, length,
                                       continuation_tokens=2 * ctx.options.continuation_tokens,
                                       count_tokens=ctx.count_tokens)
                rows.append(ctx.run(pair, setting=DEFAULT, share=share, length=length))
    return rows


def whole(ctx: BenchContext) -> list[dict]:
    names = set(story_names(ctx.data))
    stories = [name for name in WHOLE_STORIES if name in names][:ctx.options.pairs]
    rows = []
    for level in ("int", "ele"):
        for name in stories:
            pair = whole_pair(ctx.data, name, level, 2 * ctx.options.continuation_tokens, ctx.count_tokens)
            rows.append(ctx.run(pair, setting=DEFAULT, level=level))
    return rows


def meetings(ctx: BenchContext) -> list[dict]:
    rows = []
    for length in ctx.options.meeting_lengths:
        for reference_team, target_team in DEFAULT_TEAMS[:ctx.options.pairs]:
            pair = meeting_pair(ctx.data, reference_team, target_team, length,
                                2 * ctx.options.continuation_tokens, ctx.count_tokens)
            rows.append(ctx.run(pair, setting=DEFAULT, length=length, prompt="continuation"))
            rows.append(ctx.run_summary(pair, MEETING_INSTRUCTION, setting=DEFAULT, length=length,
                                        prompt="summary"))
    return rows


def bible(ctx: BenchContext) -> list[dict]:
    rows = []
    for book, chapters in ctx.options.bible_chapters:
        pair, reference, target = bible_pair(ctx.data, book, list(chapters))
        for rope in (False, True):
            scores = verse_accuracy(ctx.bundle, reference, target, ctx.params.replace(rope_in_matching=rope))
            rows.append({"kind": "matching", "pair": pair.name, "rope_in_matching": rope, **scores})
            ctx.progress(f"{pair.name} RoPE in matching {'on' if rope else 'off'}: verse accuracy "
                         f"{scores['accuracy']:.1%} (by position alone {scores['positional_accuracy']:.1%})")
        rows.append({"kind": "run", **ctx.run(pair, setting=DEFAULT)})
    return rows


def length(ctx: BenchContext) -> list[dict]:
    rows = []
    for target_length in ctx.options.sweep_lengths:
        pair = controlled_pair(ctx.data, 0, 0.3, target_length,
                               continuation_tokens=2 * ctx.options.continuation_tokens,
                               count_tokens=ctx.count_tokens)
        rows.append(ctx.run(pair, setting=DEFAULT, length=target_length))
    return rows


def ablations(ctx: BenchContext) -> list[dict]:
    builders = {
        "controlled": lambda: controlled_pair(ctx.data, 0, 0.3, ctx.options.ablation_length,
                                              continuation_tokens=2 * ctx.options.continuation_tokens,
                                              count_tokens=ctx.count_tokens),
        "meeting": lambda: meeting_pair(ctx.data, *DEFAULT_TEAMS[0], ctx.options.ablation_length,
                                        2 * ctx.options.continuation_tokens, ctx.count_tokens),
    }
    pairs = [builders[kind]() for kind in ctx.options.ablation_pairs]
    settings = ablation_settings(ctx.params, ctx.bundle.n_layers)
    rows = []
    for pair in pairs:
        for name, params in settings.items():
            rows.append(ctx.run(pair, params, setting=name))
            if name == DEFAULT:
                default_row = rows[-1]
                prompts = (ctx.last_result.reference.token_ids, ctx.last_result.target.token_ids)
        rows.append(_prefix_row(ctx, default_row, prompts))
    return rows


def smoke(ctx: BenchContext) -> list[dict]:
    pair = whole_pair(ctx.data, SMOKE_STORY, "int", ctx.options.continuation_tokens, ctx.count_tokens)
    return [ctx.run(pair, setting=DEFAULT)]


def _prefix_row(ctx: BenchContext, default_row: dict, prompts: tuple[list[int], list[int]]) -> dict:
    """Exact prefix caching on the pair of `default_row`: measured time, full prefill's quality."""
    seconds = prefix_prefill_seconds(ctx.bundle.model, *prompts, ctx.bundle.device)
    row = {key: default_row[key] for key in ("pair", "n_target_tokens", "n_reference_tokens",
                                             "prefill_seconds_full", "perplexity_full", "prefix_tokens",
                                             "prefix_ideal_speedup", "kv_bytes_full")}
    row.update(setting="exact prefix caching", prefill_seconds_semshare=seconds,
               speedup=row["prefill_seconds_full"] / seconds, ideal_speedup=row["prefix_ideal_speedup"],
               perplexity_semshare=row["perplexity_full"], perplexity_ratio=1.0, first_step_kl=0.0,
               first_token_agree=True, kv_bytes_semshare=row["kv_bytes_full"], kv_saving=0.0,
               recompute_fraction=1.0 - row["prefix_tokens"] / row["n_target_tokens"])
    ctx.progress(f"{row['pair']} [exact prefix caching] common prefix {row['prefix_tokens']} tokens: "
                 f"{seconds:.2f} s, speedup {row['speedup']:.2f}x")
    return row


PARTS = {"controlled": controlled, "whole": whole, "meetings": meetings, "bible": bible,
         "length": length, "ablations": ablations, "compression": compression, "observations": observations,
         "frontier": frontier}
