"""Command line: `python -m semshare_core compare --reference FILE --target FILE ...`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from .errors import InvalidParameterError, SemShareError
from .params import PipelineParams
from .prompts import DEFAULT_INSTRUCTION
from .textio import read_text_file

# Flags that the compare command already names itself.
_OWN_FLAGS = {"recompute_all", "retention", "max_new_tokens"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m semshare_core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    compare = commands.add_parser(
        "compare", help="Run SemShareKV and the full prefill on a target prompt and compare them.",
        description="Both documents are wrapped the same way: the instruction and then the document "
                    "form the user message of the model's chat template, so the document comes last "
                    "before the template's closing tokens. With --continuation (or --document-last) "
                    "the closing tokens are left out: the prompt ends with the document, and the "
                    "continuation is scored as the text that follows it.")
    compare.add_argument("--reference", required=True, type=Path, help="Text file of the reference document.")
    compare.add_argument("--target", required=True, type=Path, help="Text file of the target document.")
    compare.add_argument("--model", default=None,
                         help="Local folder or hub id of a Llama, Mistral or Qwen2 model "
                              "(default: the embedded SmolLM2-135M-Instruct).")
    compare.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available).")
    compare.add_argument("--instruction", default=DEFAULT_INSTRUCTION, help="Instruction placed before each document.")
    compare.add_argument("--truncate", type=int, default=None, help="Cut each document to this many tokens.")
    compare.add_argument("--max-new-tokens", type=int, default=PipelineParams.max_new_tokens,
                         help=f"Tokens to generate after each prompt (default: {PipelineParams.max_new_tokens}).")
    compare.add_argument("--recompute-all", action="store_true",
                         help="Recompute every token at every layer (reproduces the full prefill).")
    compare.add_argument("--no-retention", action="store_true", help="Keep every token in every layer's cache.")
    compare.add_argument("--repeats", type=int, default=1,
                         help="Timed runs of each prefill after the warm-up; the median counts.")
    compare.add_argument("--continuation", type=Path, default=None,
                         help="Text file that continues the target document. The JSON then contains "
                              "perplexity_full and perplexity_semshare: its teacher-forced perplexity "
                              "after the target prompt under each cache. Use text that the reference "
                              "does not contain, or reused K/V leak it and lower the perplexity.")
    compare.add_argument("--document-last", action=argparse.BooleanOptionalAction, default=None,
                         help="Build both prompts without the chat template's closing tokens, so that "
                              "each ends with its document (default: on with --continuation, else off).")
    compare.add_argument("--json", type=Path, default=None, help="Write the JSON summary to this file.")
    compare.add_argument("--verbose", action="store_true", help="Log progress to stderr.")
    _add_param_flags(compare)
    _add_bench_parser(commands)
    return parser


def _add_bench_parser(commands) -> None:
    from .bench.context import BenchOptions
    from .bench.parts import PARTS

    defaults = BenchOptions()
    bench = commands.add_parser(
        "bench", help="Run the benchmark suite on the shared paired texts and write docs/benchmarks.md.",
        description="Run benchmark parts on real paired texts (OneStopEnglish, QMSum AMI meetings, two Bible "
                    "translations) and rebuild the benchmark page from every saved part. Each run scores "
                    "a held-back continuation of the target on a prompt that ends with the document.")
    bench.add_argument("--part", action="append", choices=sorted(PARTS), default=None,
                       help="Run only this part; repeat the flag for several (default: all parts).")
    bench.add_argument("--smoke", action="store_true",
                       help="Run one short pair only (the CI form), as the part 'smoke'.")
    bench.add_argument("--data", type=Path, default=None,
                       help="Folder with onestopenglish/, qmsum-ami/ and bible/ (default: ../shared/data).")
    bench.add_argument("--output", type=Path, default=Path("docs"),
                       help="Folder for benchmarks.md, bench-results/ and img/ (default: docs).")
    bench.add_argument("--model", default=None, help="Model folder or hub id (default: the embedded model).")
    bench.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available).")
    bench.add_argument("--pairs", type=int, default=defaults.pairs, help="Pairs per setting and length.")
    bench.add_argument("--controlled-lengths", type=_int_list, default=defaults.controlled_lengths,
                       help="Comma-separated target lengths in tokens of the controlled rewrites.")
    bench.add_argument("--shares", type=_float_list, default=defaults.shares,
                       help="Comma-separated shares (0-1) of aligned sentences rewritten.")
    bench.add_argument("--meeting-lengths", type=_int_list, default=defaults.meeting_lengths,
                       help="Comma-separated lengths in tokens at which meetings are cut.")
    bench.add_argument("--sweep-lengths", type=_int_list, default=defaults.sweep_lengths,
                       help="Comma-separated target lengths in tokens of the length sweep.")
    bench.add_argument("--ablation-length", type=int, default=defaults.ablation_length,
                       help="Target length in tokens of the ablation pairs.")
    bench.add_argument("--ablation-pairs", type=_name_list, default=defaults.ablation_pairs,
                       help="Comma-separated kinds of ablation pair: controlled (30%% rewritten) and meeting.")
    bench.add_argument("--compression-length", type=int, default=defaults.compression_length,
                       help="Target length in tokens of the pairs on which SnapKV and H2O run (part compression).")
    bench.add_argument("--observation-length", type=int, default=defaults.observation_length,
                       help="Target length in tokens of the controlled and meeting pairs of part observations.")
    bench.add_argument("--frontier-length", type=int, default=defaults.frontier_length,
                       help="Target tokens of the pairs of the frontier part (settings sweep).")
    bench.add_argument("--continuation-tokens", type=int, default=defaults.continuation_tokens,
                       help="Tokens of held-back continuation scored for perplexity.")
    bench.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens,
                       help="Tokens generated after each continuation prompt.")
    bench.add_argument("--summary-tokens", type=int, default=defaults.summary_tokens,
                       help="Tokens generated for each meeting summary.")
    bench.add_argument("--repeats", type=int, default=defaults.repeats,
                       help="Timed runs of each prefill after the warm-up; the median counts.")
    bench.add_argument("--threads", type=int, default=None,
                       help="Torch CPU threads (default: torch's own choice). On a machine that other "
                            "processes load, 1 thread keeps the timings of many small operations steadier.")
    bench.add_argument("--verbose", action="store_true", help="Log progress to stderr.")


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(int(item) for item in text.split(",") if item.strip())


def _name_list(text: str) -> tuple[str, ...]:
    names = tuple(item.strip() for item in text.split(",") if item.strip())
    unknown = set(names) - {"controlled", "meeting"}
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown ablation pair kinds {sorted(unknown)}; use controlled, meeting")
    return names


def _float_list(text: str) -> tuple[float, ...]:
    return tuple(float(item) for item in text.split(",") if item.strip())


def _add_param_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline parameters")
    help_texts = PipelineParams.help_texts()
    for item in dataclasses.fields(PipelineParams):
        if item.name in _OWN_FLAGS:
            continue
        flag = "--" + item.name.replace("_", "-")
        if item.type in ("bool", bool):
            group.add_argument(flag, dest=item.name, action=argparse.BooleanOptionalAction,
                               default=item.default, help=help_texts[item.name])
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(item.type), float)
            group.add_argument(flag, dest=item.name, type=kind, default=item.default,
                               help=f"{help_texts[item.name]} (default: {item.default})")


def params_from_args(args: argparse.Namespace) -> PipelineParams:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(PipelineParams) if f.name not in _OWN_FLAGS}
    return PipelineParams(recompute_all=args.recompute_all, retention=not args.no_retention,
                          max_new_tokens=args.max_new_tokens, **values)


def format_summary(summary: dict) -> str:
    lines = [
        f"model {summary['model']} on {summary['device']} ({summary['dtype']})",
        f"tokens: reference {summary['n_reference_tokens']}, target {summary['n_target_tokens']}",
        f"similarity {summary['similarity']:.3f} (LSH), {summary['lexical_similarity']:.3f} (lexical, MinHash)",
    ]
    if not summary["reused"]:
        lines.append(f"fallback: {summary['fallback_reason']}")
    lines += [
        f"recomputed {summary['recompute_fraction']:.1%} of token-layer pairs, "
        f"kept {summary['retained_fraction']:.1%} after prefill",
        f"prefill: full {summary['prefill_seconds_full']:.3f} s, SemShareKV {summary['prefill_seconds_semshare']:.3f} s, "
        f"speedup {summary['speedup']:.2f}x (ideal {summary['ideal_speedup']:.2f}x)",
        f"KV cache: full {summary['kv_bytes_full'] / 2**20:.2f} MiB, SemShareKV {summary['kv_bytes_semshare'] / 2**20:.2f} MiB",
        f"first token agrees: {summary['first_token_agree']}, max |logit diff| {summary['max_abs_logit_diff']:.2e}, "
        f"ROUGE-L of outputs {summary['rouge_l_outputs']:.3f}",
        *_perplexity_lines(summary),
        f"output (full):       {summary['output_full']}",
        f"output (SemShareKV): {summary['output_semshare']}",
    ]
    return "\n".join(lines)


def _perplexity_lines(summary: dict) -> list[str]:
    if "perplexity_full" not in summary:
        return []
    return [f"continuation perplexity ({summary['continuation_tokens']} tokens): "
            f"full {summary['perplexity_full']:.3f}, SemShareKV {summary['perplexity_semshare']:.3f}"]


def run_compare(args: argparse.Namespace) -> int:
    from .model import load_model
    from .pipeline import compare

    # Check everything the user typed before the model load, which takes seconds.
    params = params_from_args(args)
    check_compare_args(args)
    reference = read_text_file(args.reference)
    target = read_text_file(args.target)
    continuation = read_text_file(args.continuation) if args.continuation else None
    bundle = load_model(args.model, device=args.device)
    result = compare(bundle, reference, target, params, instruction=args.instruction,
                     truncate=args.truncate, timing_repeats=args.repeats,
                     continuation=continuation, document_last=args.document_last,
                     progress=lambda phase, fraction: logging.info("%3.0f%% %s", 100 * fraction, phase))
    summary = result.summary()
    print(format_summary(summary))
    if args.json:
        try:
            args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            print(f"error: could not write {args.json}: {error.strerror}", file=sys.stderr)
            return 2
        print(f"wrote {args.json}")
    return 0


def check_compare_args(args: argparse.Namespace) -> None:
    """Raise InvalidParameterError for a bad count or an unwritable JSON folder."""
    if args.truncate is not None and args.truncate < 1:
        raise InvalidParameterError(f"--truncate must be at least 1 token, got {args.truncate}.")
    if args.repeats < 1:
        raise InvalidParameterError(f"--repeats must be at least 1, got {args.repeats}.")
    if args.json is not None and not args.json.resolve().parent.is_dir():
        raise InvalidParameterError(f"--json: folder {args.json.resolve().parent} not found.")


def run_bench(args: argparse.Namespace, argv: list[str]) -> int:
    from .bench.context import BenchOptions
    from .bench.pairs import data_dir
    from .bench.parts import PARTS
    from .bench.runner import SMOKE_OPTIONS, run_bench as run
    from .model import load_model

    data = data_dir(args.data)
    if args.smoke:
        options, part_names = SMOKE_OPTIONS, ["smoke"]
    else:
        options = BenchOptions(
            pairs=args.pairs, controlled_lengths=args.controlled_lengths, shares=args.shares,
            meeting_lengths=args.meeting_lengths, sweep_lengths=args.sweep_lengths,
            ablation_length=args.ablation_length, ablation_pairs=args.ablation_pairs,
            compression_length=args.compression_length, observation_length=args.observation_length,
            frontier_length=args.frontier_length,
            continuation_tokens=args.continuation_tokens,
            max_new_tokens=args.max_new_tokens, summary_tokens=args.summary_tokens, repeats=args.repeats)
        part_names = args.part or list(PARTS)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    bundle = load_model(args.model, device=args.device)
    command = "python -m semshare_core " + " ".join(argv)
    page = run(bundle, data, args.output, part_names, options, PipelineParams(), command,
               progress=lambda message: print(message, flush=True))
    print(f"wrote {page}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    if not verbose:
        from transformers.utils import logging as transformers_logging
        transformers_logging.disable_progress_bar()
    try:
        if args.command == "compare":
            return run_compare(args)
        if args.command == "bench":
            return run_bench(args, argv)
    except SemShareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1
