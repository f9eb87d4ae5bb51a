"""Markdown tables of benchmark rows, with each cell the median and [min-max] over pairs."""

from __future__ import annotations

from .metrics import aggregate

# Column name, heading and format of the per-pair metrics the tables show.
RUN_COLUMNS = [
    ("n_target_tokens", "target tokens", "{:.0f}"),
    ("prefill_seconds_full", "full prefill (s)", "{:.2f}"),
    ("prefill_seconds_semshare", "SemShareKV prefill (s)", "{:.2f}"),
    ("speedup", "speedup", "{:.2f}x"),
    ("ideal_speedup", "ideal speedup", "{:.2f}x"),
    ("speedup_of_ideal", "share of ideal", "{:.0%}"),
    ("matching_share", "matching / full prefill", "{:.1%}"),
    ("kv_saving", "KV bytes saved", "{:.0%}"),
    ("perplexity_full", "perplexity full", "{:.2f}"),
    ("perplexity_semshare", "perplexity SemShareKV", "{:.2f}"),
    ("perplexity_ratio", "perplexity ratio", "{:.3f}"),
    ("first_step_kl", "first-step KL", "{:.3f}"),
    ("first_token_agree", "first token agrees", "{:.0%}"),
    ("rouge_l_outputs", "ROUGE-L of outputs", "{:.2f}"),
]


def cell(stats: dict, fmt: str) -> str:
    if stats["median"] is None:
        return "-"
    text = fmt.format(stats["median"])
    if stats["n"] > 1 and stats["min"] != stats["max"]:
        text += f" [{fmt.format(stats['min'])}-{fmt.format(stats['max'])}]"
    return text


def markdown_table(headings: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    lines += ["| " + " | ".join(str(value) for value in row) + " |" for row in body]
    return "\n".join(lines)


def grouped_table(rows: list[dict], group_by: list[str], labels: list[str], columns=RUN_COLUMNS) -> str:
    """Build a table with one line per group: its values, the pair count, then each column's median [min-max]."""
    names = [name for name, _, _ in columns]
    table = aggregate(rows, group_by, names)
    body = []
    for entry in table:
        values = [_label(entry[key]) for key in group_by]
        values.append(entry["pairs"])
        values += [cell(entry[name], fmt) for name, _, fmt in columns]
        body.append(values)
    return markdown_table(labels + ["pairs"] + [heading for _, heading, _ in columns], body)


def _label(value) -> str:
    if isinstance(value, float) and value < 1:
        return f"{value:.0%}"
    return str(value)
