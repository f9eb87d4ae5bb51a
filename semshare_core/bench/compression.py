"""Benchmark part 'compression': SnapKV and H2O beside SemShareKV at SemShareKV's KV budget."""

from __future__ import annotations

from pathlib import Path

import torch

from ..compression import METHOD_NAMES, METHODS, SNAPKV_KERNEL, SNAPKV_WINDOW, compressed_prefill, semshare_budgets
from ..perplexity import continuation_token_ids, perplexity_from_layers
from .context import BenchContext
from .meetings import DEFAULT_TEAMS, meeting_pair
from .pairs import Pair
from .rewrites import controlled_pair
from .settings import DEFAULT
from .tables import grouped_table

FULL = "full prefill"
COLUMNS = [
    ("n_target_tokens", "target tokens", "{:.0f}"),
    ("ttft_seconds", "time to first token (s)", "{:.2f}"),
    ("speedup", "speedup", "{:.2f}x"),
    ("kv_megabytes", "KV kept (MB)", "{:.1f}"),
    ("kv_saving", "KV bytes saved", "{:.0%}"),
    ("perplexity", "perplexity", "{:.2f}"),
    ("perplexity_ratio", "perplexity ratio", "{:.3f}"),
    ("first_step_kl", "first-step KL", "{:.3f}"),
    ("first_token_agree", "first token agrees", "{:.0%}"),
]


def compression_pairs(ctx: BenchContext) -> list[Pair]:
    """Build one controlled pair (30% rewritten) and one meeting pair at the compression length."""
    length = ctx.options.compression_length
    continuation = 2 * ctx.options.continuation_tokens
    return [controlled_pair(ctx.data, 0, 0.3, length, continuation_tokens=continuation,
                            count_tokens=ctx.count_tokens),
            meeting_pair(ctx.data, *DEFAULT_TEAMS[0], length, continuation, ctx.count_tokens)]


def compression(ctx: BenchContext) -> list[dict]:
    rows = []
    for pair in compression_pairs(ctx):
        semshare = ctx.run(pair, setting=DEFAULT)
        rows += [_full_row(semshare), _semshare_row(semshare)]
        rows += [_compressed_row(ctx, pair, semshare, method) for method in METHODS]
    return rows


def _full_row(semshare: dict) -> dict:
    return _row(semshare, FULL, ttft=semshare["prefill_seconds_full"], speedup=1.0,
                kv_bytes=semshare["kv_bytes_full"], perplexity=semshare["perplexity_full"],
                first_step_kl=0.0, first_token_agree=True)


def _semshare_row(semshare: dict) -> dict:
    return _row(semshare, DEFAULT, ttft=semshare["prefill_seconds_semshare"], speedup=semshare["speedup"],
                kv_bytes=semshare["kv_bytes_semshare"], perplexity=semshare["perplexity_semshare"],
                first_step_kl=semshare["first_step_kl"], first_token_agree=semshare["first_token_agree"])


def _compressed_row(ctx: BenchContext, pair: Pair, semshare: dict, method: str) -> dict:
    """Compress the same target prompt with `method` at the SemShareKV run's per-layer budget."""
    result = ctx.last_result
    model, device = ctx.bundle.model, ctx.bundle.device
    token_ids = torch.tensor(result.target.token_ids, device=device)
    continuation_ids = continuation_token_ids(ctx.bundle.tokenizer, ctx.trim_continuation(pair.continuation))
    budgets = semshare_budgets(result.params, ctx.bundle.n_layers, token_ids.numel())
    compressed = compressed_prefill(model, token_ids, method, budgets)
    perplexity = perplexity_from_layers(model, compressed.cache, compressed.logits, token_ids.numel(),
                                        continuation_ids)
    row = _row(semshare, METHOD_NAMES[method], ttft=compressed.ttft_seconds,
               speedup=compressed.prefill_seconds / compressed.ttft_seconds, kv_bytes=compressed.nbytes,
               perplexity=perplexity, first_step_kl=0.0, first_token_agree=True)
    row.update(prefill_seconds=compressed.prefill_seconds, selection_seconds=compressed.selection_seconds)
    ctx.progress(f"{pair.name} [{row['method']}] T={row['n_target_tokens']}: prefill "
                 f"{compressed.prefill_seconds:.2f} s + selection {compressed.selection_seconds:.2f} s, "
                 f"KV saved {row['kv_saving']:.0%}, perplexity {semshare['perplexity_full']:.2f} -> {perplexity:.2f}")
    return row


def _row(semshare: dict, method: str, *, ttft: float, speedup: float, kv_bytes: int, perplexity: float,
         first_step_kl: float, first_token_agree: bool) -> dict:
    return {
        "kind": "compression", "pair": semshare["pair"], "method": method,
        "n_target_tokens": semshare["n_target_tokens"], "ttft_seconds": ttft, "speedup": speedup,
        "kv_bytes": kv_bytes, "kv_megabytes": kv_bytes / 1e6,
        "kv_saving": 1.0 - kv_bytes / max(semshare["kv_bytes_full"], 1),
        "perplexity": perplexity, "perplexity_ratio": perplexity / semshare["perplexity_full"],
        "first_step_kl": first_step_kl, "first_token_agree": first_token_agree,
    }


def compression_section(output: Path, part: str, record: dict) -> str:
    """Markdown section of the 'compression' part: one table per pair."""
    from .report import _run_line  # report imports this module, so import it at call time

    rows = record["rows"]
    sections = [
        "## SnapKV and H2O at SemShareKV's KV budget", "",
        "Single-prompt KV compression after a full prefill of the target, keeping per layer as many "
        "tokens as SemShareKV's retention keeps (per KV head, so the KV bytes match). SnapKV keeps the "
        f"tokens that the last {SNAPKV_WINDOW} prompt queries attend to most (summed over the query heads of "
        f"each KV head, average-pooled over {SNAPKV_KERNEL} positions) plus those {SNAPKV_WINDOW} tokens. H2O keeps the tokens with the most "
        "attention accumulated over all prompt queries (half of the budget) plus the most recent tokens "
        "(the other half). Their time to first token is the full prefill plus the selection. The selection "
        "recomputes each layer's queries and attention weights, because the fused prefill does not return "
        "them. Their speedup is the prefill time over that sum, measured in the same run. Their first "
        "output token comes from the full prefill, so the first-step KL is 0 by construction, and the "
        "eviction shows only in the continuation perplexity.", "",
        _run_line(record)]
    for pair in dict.fromkeys(row["pair"] for row in rows):
        members = [row for row in rows if row["pair"] == pair]
        sections += [f"Pair `{pair}`:", "", grouped_table(members, ["method"], ["method"], COLUMNS), ""]
    return "\n".join(sections)
