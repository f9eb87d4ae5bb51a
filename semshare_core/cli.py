"""Command line: `python -m semshare_core compare --reference FILE --target FILE ...`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from .errors import SemShareError
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
                    "before the template's closing tokens.")
    compare.add_argument("--reference", required=True, type=Path, help="Text file of the reference document.")
    compare.add_argument("--target", required=True, type=Path, help="Text file of the target document.")
    compare.add_argument("--model", default=None,
                         help="Local folder or hub id of a Llama, Mistral or Qwen2 model "
                              "(default: the embedded SmolLM2-135M-Instruct).")
    compare.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available).")
    compare.add_argument("--instruction", default=DEFAULT_INSTRUCTION, help="Instruction placed before each document.")
    compare.add_argument("--truncate", type=int, default=None, help="Cut each document to this many tokens.")
    compare.add_argument("--max-new-tokens", type=int, default=PipelineParams.max_new_tokens,
                         help="Tokens to generate after each prompt.")
    compare.add_argument("--recompute-all", action="store_true",
                         help="Recompute every token at every layer (reproduces the full prefill).")
    compare.add_argument("--no-retention", action="store_true", help="Keep every token in every layer's cache.")
    compare.add_argument("--repeats", type=int, default=1,
                         help="Timed runs of each prefill after the warm-up; the median counts.")
    compare.add_argument("--json", type=Path, default=None, help="Write the JSON summary to this file.")
    compare.add_argument("--verbose", action="store_true", help="Log progress to stderr.")
    _add_param_flags(compare)
    return parser


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
            kind = {"int": int, "float": float}.get(str(item.type), float)
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
        f"output (full):       {summary['output_full']}",
        f"output (SemShareKV): {summary['output_semshare']}",
    ]
    return "\n".join(lines)


def run_compare(args: argparse.Namespace) -> int:
    from .model import load_model
    from .pipeline import compare

    params = params_from_args(args)
    reference = read_text_file(args.reference)
    target = read_text_file(args.target)
    bundle = load_model(args.model, device=args.device)
    result = compare(bundle, reference, target, params, instruction=args.instruction,
                     truncate=args.truncate, timing_repeats=args.repeats,
                     progress=lambda phase, fraction: logging.info("%3.0f%% %s", 100 * fraction, phase))
    summary = result.summary()
    print(format_summary(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s")
    try:
        if args.command == "compare":
            return run_compare(args)
    except SemShareError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1
