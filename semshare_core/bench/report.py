"""The benchmark page, docs/benchmarks.md, regenerated from every saved part."""

from __future__ import annotations

import statistics
from pathlib import Path

from ..params import PipelineParams
from . import plots
from .compression import compression_section
from .frontier_report import frontier_section
from .machine import describe
from .observation_report import observations_section
from .tables import RUN_COLUMNS, grouped_table, markdown_table

PART_ORDER = ["smoke", "controlled", "whole", "meetings", "bible", "length", "ablations", "compression",
              "observations", "frontier"]
PAGE = "benchmarks.md"
IMAGES = "img"

MISSING = """## Not measured yet

- PyramidKV at the same KV budget (single-prompt compression; SnapKV and H2O are measured above).
- CacheBlend itself. The CacheBlend-style setting reuses K/V only inside spans copied from the
  reference, where a token and its predecessor match identical tokens at consecutive reference
  positions. Otherwise it keeps SemShareKV's selection, not CacheBlend's single selection at layer 1.
- Exact prefix caching is measured in the ablations part only; the other parts give its ideal speedup
  (target tokens over tokens after the common prefix) in the JSON results.
- Retention schedules are compared at one length per pair: on two pairs with reuse (ablations) and on
  three pairs without reuse (observations).
- Meetings stop at 4k tokens: the kick-off transcripts hold about 2,400-4,000 words.
- A GPU: every figure here is from a 2-core CPU. The engine's CUDA path (bf16, CUDA-event
  timing) has not run on a GPU.
"""


def write_page(output: Path, records: dict[str, dict]) -> Path:
    """Write benchmarks.md and its plots under `output` from the saved part records."""
    sections = [_header()]
    for part in sorted(records, key=lambda name: PART_ORDER.index(name) if name in PART_ORDER else 99):
        sections.append(SECTIONS.get(part, _generic)(output, part, records[part]))
    if any(record.get("rows") for record in records.values()):
        frontier = {part: [r for r in record["rows"] if r.get("kind", "run") == "run"]
                    for part, record in records.items()}
        path = plots.frontier_plot(frontier, output / IMAGES / "bench-frontier.png")
        sections.append("## Speed against quality\n\nEvery run with a continuation perplexity, "
                        f"all parts.\n\n![speed against quality]({IMAGES}/{path.name})\n")
    sections.append(MISSING + _stale_parts(records))
    page = output / PAGE
    page.write_text("\n".join(sections), encoding="utf-8")
    return page


def _stale_parts(records: dict[str, dict]) -> str:
    """List the saved parts that ran with other pipeline defaults than the current ones."""
    current = PipelineParams().to_dict()
    lines = []
    for part, record in sorted(records.items()):
        if "params" not in record:
            continue
        saved = record["params"]
        changed = {name: saved.get(name, "not recorded") for name in current
                   if saved.get(name, "not recorded") != current[name]}
        if changed:
            listed = ", ".join(f"{name}={value} (now {current[name]})" for name, value in sorted(changed.items()))
            lines.append(f"- Part {part} ran with other defaults than the current ones: {listed}.\n")
    return "".join(lines)


def _header() -> str:
    return """# Benchmarks

SemShareKV against the full prefill on real paired texts, measured by
`python -m semshare_core bench` (`make bench` runs every part). Each part states how it
was run. Run one part with `--part NAME`; its results replace that part's file in
`docs/bench-results/` and the page is rebuilt from all part files.

Reading the tables: each cell is the median over pairs, with [min-max] when the pairs
differ. Speedup is full prefill time over SemShareKV prefill time (matching,
rearrangement, selective recompute and retention included); the ideal speedup is
1 / (share of token-layer pairs recomputed). Perplexity is teacher-forced over a held-back
continuation of the target that the reference does not contain, with the prompt ending
in the document (no chat-template closing tokens). The first-step KL divergence is
KL(full || SemShareKV) of the next-token distribution after the prompt, in nats.

Timings depend on what else runs on the machine: each part gives the 1-minute load
average at its end. Where it exceeds the core count, the measured speedups are noisy.
A speedup above the ideal one has three causes. Other processes slowed a full prefill.
The ideal undercounts the saving: it counts the token-layers whose q/k/v are computed,
while attention and the MLP run only for the tokens each layer passes on (see the
controlled section). And the frontier part sets the faster of two SemShareKV runs against
the median full prefill. The ideal speedup, perplexity, KL divergence and KV bytes do not
depend on the load.
"""


def _run_line(record: dict) -> str:
    return (f"Command: `{record['command']}`. Machine: {describe(record['machine'])}. "
            f"Model: {record['model']}. Data: the paired-text corpora of the --data folder. Run time {record['seconds'] / 60:.1f} min.\n")


def _image(output: Path, path: Path, title: str) -> str:
    return f"![{title}]({path.relative_to(output).as_posix()})\n"


def _controlled(output: Path, part: str, record: dict) -> str:
    rows = record["rows"]
    image = plots.controlled_plot(rows, output / IMAGES / "bench-controlled.png")
    return "\n".join([
        "## Controlled rewrites", "",
        "OneStopEnglish Advanced stories, concatenated to the given length, as reference; the "
        "same text with a share of its sentences replaced by their aligned Intermediate rewrite "
        "as target. The share counts the sentences that the sentence alignment covers and "
        "whose rewrite differs (about a third of each story's sentences). The continuation is "
        "the next paragraphs of the target, cut from both documents.", "",
        _run_line(record),
        grouped_table(rows, ["length", "share"], ["length", "rewritten"]), "",
        _attention_work_line(rows),
        _image(output, image, "controlled rewrites")])


def _attention_work_line(rows: list[dict]) -> str:
    """Say which effects move the measured speedup away from the token-layer ideal."""
    measured = [row for row in rows if row.get("attention_work_fraction") is not None]
    if not measured:
        return ""
    tokens = statistics.median(row["recompute_fraction"] for row in measured)
    work = statistics.median(row["attention_work_fraction"] for row in measured)
    return (f"The ideal speedup counts the token-layers whose q/k/v are computed: {tokens:.1%} of them "
            "(median). Two effects move the measured speedup away from it. Attention costs a query at "
            "position p the p + 1 keys it reads, and the recomputed tokens sit late in the prompt. "
            f"Weighted by keys read, the same token-layers are {work:.1%} of the full prefill's attention "
            "work, which slows SemShareKV. Each layer runs attention and the MLP only for the tokens it "
            "passes on, fewer than those it computes q/k/v for (layer 0 computes q/k/v for every token), "
            "which speeds it up. In one profiled 4k-token run with 10.9% of token-layers recomputed, on an "
            "AMD EPYC with AVX2, SemShareKV's matrix products took 8.3% of the full prefill's time in "
            "matrix products and its attention 12.5% of the full prefill's attention time "
            "(docs/method-choices.md).\n")


def _whole(output: Path, part: str, record: dict) -> str:
    return "\n".join([
        "## Whole rewrites", "",
        "Advanced story as reference, its Intermediate or Elementary rewrite as target. The "
        "target's last paragraphs are the continuation; the reference stops before the "
        "Advanced paragraph aligned to them.", "",
        _run_line(record),
        grouped_table(record["rows"], ["level"], ["target level"]), ""])


def _meetings(output: Path, part: str, record: dict) -> str:
    rows = record["rows"]
    continuation = [row for row in rows if row.get("prompt") == "continuation"]
    summary = [row for row in rows if row.get("prompt") == "summary"]
    gold = [("rouge_l_gold_full", "ROUGE-L vs gold, full", "{:.3f}"),
            ("rouge_l_gold_semshare", "ROUGE-L vs gold, SemShareKV", "{:.3f}"),
            ("rouge_l_outputs", "ROUGE-L of outputs", "{:.2f}"),
            ("first_token_agree", "first token agrees", "{:.0%}"),
            ("speedup", "speedup", "{:.2f}x")]
    return "\n".join([
        "## Meetings", "",
        "AMI kick-off meetings (QMSum) of two different teams, both cut at the given length; "
        "the target's next utterances are the continuation. A second run per pair wraps the "
        "target in the chat template with the instruction 'Summarize the whole meeting.' and "
        "scores the generated summary against the human summary of the whole meeting.", "",
        _run_line(record),
        grouped_table(continuation, ["length"], ["length"]), "",
        "Summaries against the human summary:", "",
        grouped_table(summary, ["length"], ["length"], gold), ""])


def _bible(output: Path, part: str, record: dict) -> str:
    matching = [row for row in record["rows"] if row.get("kind") == "matching"]
    body = [[row["pair"], "on" if row["rope_in_matching"] else "off", row["n_target_tokens"],
             f"{row['accuracy']:.1%}", f"{row['positional_accuracy']:.1%}", f"{row['same_token_share']:.1%}"]
            for row in matching]
    runs = [row for row in record["rows"] if row.get("kind") == "run"]
    return "\n".join([
        "## Bible: matching accuracy", "",
        "Noyes (1869) as reference, Twenty (1904) as target, the same chapters. Accuracy is the "
        "share of target document tokens matched to a reference token of the same verse. "
        "'By position' maps each token to the reference token at the same relative position, "
        "with no content at all; 'same token' is the share matched to an identical token id.", "",
        _run_line(record),
        markdown_table(["chapters", "RoPE in matching", "target tokens", "accuracy", "by position",
                        "same token"], body), "",
        "Runs at the defaults:", "",
        grouped_table(runs, ["pair"], ["pair"]), ""])


def _length(output: Path, part: str, record: dict) -> str:
    rows = sorted(record["rows"], key=lambda row: row["n_target_tokens"])
    image = plots.length_plot(rows, output / IMAGES / "bench-length.png")
    return "\n".join([
        "## Speedup against target length", "",
        "One controlled pair (30% of aligned sentences rewritten) per length.", "",
        _run_line(record),
        grouped_table(rows, ["length"], ["length"]), "",
        break_even(rows), "",
        SHORT_PROMPTS, "",
        _image(output, image, "speedup against length")])


SHORT_PROMPTS = (
    "Short prompts lose more quality to eviction than long ones, since every layer evicts the "
    "same share. docs/method-choices.md measures this on a 541-token pair. Where quality "
    "matters more than memory on short prompts, raise `retain_decay` or turn retention off.")


def break_even(rows: list[dict]) -> str:
    """State the target length below which SemShareKV is slower than the full prefill."""
    rows = sorted(rows, key=lambda row: row["n_target_tokens"])
    slower = [row["n_target_tokens"] for row in rows if row["speedup"] < 1.0]
    faster = [row["n_target_tokens"] for row in rows if row["speedup"] >= 1.0]
    if not faster:
        return "SemShareKV was slower than the full prefill at every measured length."
    if not slower:
        return (f"SemShareKV was faster at every measured length, from {rows[0]['n_target_tokens']} "
                "tokens on, so the length below which it stops paying is under the shortest one measured.")
    return (f"SemShareKV was slower than the full prefill at {', '.join(map(str, slower))} target tokens "
            f"and faster at {', '.join(map(str, faster))}: it pays from about {min(faster)} tokens on.")


def _ablations(output: Path, part: str, record: dict) -> str:
    rows = record["rows"]
    image = plots.ablation_plot(rows, output / IMAGES / "bench-ablations.png")
    columns = [c for c in RUN_COLUMNS if c[0] not in ("perplexity_full", "rouge_l_outputs", "n_target_tokens")]
    sections = ["## Baselines and ablations", "",
                "Each setting changes one choice of the defaults, on one controlled pair (30% "
                "rewritten) and one meeting pair. Exact prefix caching reuses the longest common "
                "token prefix and computes the rest with the model's own forward, so its quality "
                "is the full prefill's. The CacheBlend-style setting recomputes at every layer each "
                "token outside the spans copied from the reference.", "",
                _run_line(record)]
    for pair in dict.fromkeys(row["pair"] for row in rows):
        sections += [f"Pair `{pair}`:", "",
                     grouped_table([r for r in rows if r["pair"] == pair], ["setting"], ["setting"], columns), ""]
    sections.append(_image(output, image, "ablations"))
    return "\n".join(sections)


def _generic(output: Path, part: str, record: dict) -> str:
    return "\n".join([f"## {part.capitalize()}", "", _run_line(record),
                      grouped_table(record["rows"], ["pair"], ["pair"]), ""])


SECTIONS = {"controlled": _controlled, "whole": _whole, "meetings": _meetings, "bible": _bible,
            "length": _length, "ablations": _ablations, "compression": compression_section,
            "observations": observations_section, "frontier": frontier_section}
