"""Saved benchmark results for the app: the part records, the plots and tables of their key figures."""

from __future__ import annotations

import json
from pathlib import Path

from semshare_core.bench.compression import COLUMNS as COMPRESSION_COLUMNS
from semshare_core.bench.machine import describe
from semshare_core.bench.metrics import aggregate
from semshare_core.bench.report import PART_ORDER
from semshare_core.bench.settings import DEFAULT
from semshare_core.bench.store import RESULTS_FOLDER
from semshare_core.bench.tables import RUN_COLUMNS, cell, grouped_table

DOCS_DIR = Path(__file__).resolve().parent.parent / "docs"

# Plots in the order the page shows them, with their captions; other bench-*.png files follow.
PLOT_CAPTIONS = {
    "bench-controlled.png": "Controlled rewrites: prefill speedup (dotted: the ideal one) and continuation "
                            "perplexity ratio against the share of rewritten sentences, one line per length.",
    "bench-length.png": "Prefill time of the full prefill and of SemShareKV, and the speedup, against the "
                        "target length.",
    "bench-ablations.png": "Continuation perplexity of each ablation over the full prefill's, on a log scale.",
    "bench-frontier.png": "Speedup against continuation perplexity ratio, every run of every part.",
    "bench-observations-rank.png": "Observation 1: Spearman's rho of the per-token KV deviation between "
                                   "adjacent layers (before recompute).",
    "bench-observations-recovery.png": "Observation 2: share of the prompt's tokens that hold 55% and 90% "
                                       "of the attention of the last prompt queries, per layer.",
    "bench-observations-retention.png": "Observation 3: perplexity after evicting tokens from the full "
                                        "prefill's cache with decaying, constant and growing budgets of "
                                        "equal total.",
}

SUMMARY_COLUMNS = [column for column in RUN_COLUMNS
                   if column[0] in ("n_target_tokens", "speedup", "ideal_speedup", "kv_saving",
                                    "perplexity_ratio", "first_step_kl", "first_token_agree")]


def results_signature(docs: Path) -> tuple[tuple[str, float], ...]:
    """Name and modification time of each saved part file, so a cache reloads when one changes."""
    folder = docs / RESULTS_FOLDER
    if not folder.is_dir():
        return ()
    return tuple((path.name, path.stat().st_mtime) for path in sorted(folder.glob("*.json")))


def load_records(docs: Path) -> tuple[dict[str, dict], list[str]]:
    """Read every saved part under `docs`; return the records by part and a message per unreadable file."""
    records, problems = {}, []
    folder = docs / RESULTS_FOLDER
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            problems.append(f"{path.name} could not be read: {error}")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("rows"), list):
            problems.append(f"{path.name} is not a benchmark part record (it has no list of rows).")
            continue
        records[path.stem] = record
    return records, problems


def ordered_parts(records: dict[str, dict]) -> list[str]:
    return sorted(records, key=lambda name: (PART_ORDER.index(name) if name in PART_ORDER else len(PART_ORDER), name))


def plot_paths(docs: Path) -> list[Path]:
    """List the benchmark plots under docs/img: the captioned ones in their order, then any others by name."""
    folder = docs / "img"
    found = {path.name: path for path in folder.glob("bench-*.png")} if folder.is_dir() else {}
    known = [found.pop(name) for name in PLOT_CAPTIONS if name in found]
    return known + [found[name] for name in sorted(found)]


def plot_caption(path: Path) -> str:
    return PLOT_CAPTIONS.get(path.name, path.stem.replace("-", " "))


def run_rows(record: dict) -> list[dict]:
    """Rows of SemShareKV runs at the defaults with a measured speedup.

    Matching-only rows, baselines and ablation settings are left out.
    """
    return [row for row in record["rows"]
            if row.get("kind", "run") == "run" and row.get("setting", DEFAULT) == DEFAULT
            and row.get("speedup") is not None]


def summary_table(records: dict[str, dict]) -> list[dict]:
    """Build one line per part: the median [min-max] of its key figures over every run of the part."""
    lines = []
    names = [name for name, _, _ in SUMMARY_COLUMNS]
    for part in ordered_parts(records):
        rows = run_rows(records[part])
        if not rows:
            continue
        entry = aggregate(rows, [], names)[0]
        line = {"part": part, "runs": entry["pairs"]}
        line.update({heading: cell(entry[name], fmt) for name, heading, fmt in SUMMARY_COLUMNS})
        line["measured"] = records[part].get("machine", {}).get("date", "-")
        lines.append(line)
    return lines


def compression_tables(record: dict) -> list[tuple[str, str]]:
    """Return (pair, markdown table) for each pair of the 'compression' part."""
    rows = [row for row in record["rows"] if row.get("kind") == "compression"]
    pairs = dict.fromkeys(row["pair"] for row in rows)
    return [(pair, grouped_table([row for row in rows if row["pair"] == pair], ["method"], ["method"],
                                 COMPRESSION_COLUMNS))
            for pair in pairs]


def run_description(record: dict) -> str:
    """Format the command and the machine of one part as one line."""
    machine = record.get("machine")
    where = describe(machine) if isinstance(machine, dict) and "date" in machine else "machine not recorded"
    return f"`{record.get('command', 'command not recorded')}` ({where})"
