"""Benchmark page from hand-made rows, and the smoke form of `python -m semshare_core bench`."""

import json

import pytest

from semshare_core.bench.machine import machine_info
from semshare_core.bench.report import break_even, write_page
from semshare_core.bench.store import load_parts, save_part
from semshare_core.cli import main
from semshare_core.params import PipelineParams


def row(pair="p", speedup=2.0, tokens=1000, **extra):
    values = {
        "pair": pair, "setting": "SemShareKV (defaults)", "n_target_tokens": tokens, "n_reference_tokens": tokens,
        "prefill_seconds_full": 2.0, "prefill_seconds_semshare": 2.0 / speedup, "speedup": speedup,
        "ideal_speedup": 4.0, "matching_share": 0.01, "kv_saving": 0.24, "perplexity_full": 10.0,
        "perplexity_semshare": 11.0, "perplexity_ratio": 1.1, "first_step_kl": 0.05, "first_token_agree": True,
        "rouge_l_outputs": 0.5, "kv_bytes_full": 100, "kv_bytes_semshare": 76,
    }
    return {**values, **extra}


def record(part, rows):
    return {"part": part, "command": f"python -m semshare_core bench --part {part}", "machine": machine_info("cpu"),
            "model": "tiny", "data": "data", "seconds": 60.0, "rows": rows}


def all_records():
    return {
        "controlled": record("controlled", [row(share=s, length=n) for s in (0.1, 0.3) for n in (2000, 4000)]),
        "whole": record("whole", [row(level="int"), row(level="ele")]),
        "meetings": record("meetings", [row(length=1000, prompt="continuation"),
                                        row(length=1000, prompt="summary", rouge_l_gold_full=0.2,
                                            rouge_l_gold_semshare=0.25)]),
        "bible": record("bible", [
            {"kind": "matching", "pair": "b", "rope_in_matching": False, "accuracy": 0.6,
             "positional_accuracy": 0.7, "same_token_share": 0.3, "n_target_tokens": 900},
            {"kind": "run", **row(pair="b")}]),
        "length": record("length", [row(tokens=500, speedup=0.8, length=500), row(tokens=2000, speedup=3.0, length=2000)]),
        "ablations": record("ablations", [row(setting="SemShareKV (defaults)"),
                                          row(setting="matched KV replaced by zeros", perplexity_ratio=50.0)]),
    }


def test_page_has_every_part(tmp_path):
    page = write_page(tmp_path, all_records()).read_text()

    for heading in ("## Controlled rewrites", "## Whole rewrites", "## Meetings", "## Bible: matching accuracy",
                    "## Speedup against target length", "## Baselines and ablations", "## Not measured yet"):
        assert heading in page
    assert "1-minute load average" in page
    for image in ("bench-controlled.png", "bench-length.png", "bench-ablations.png", "bench-frontier.png"):
        assert (tmp_path / "img" / image).stat().st_size > 0


def test_page_names_stale_parts(tmp_path):
    current = PipelineParams().to_dict()
    older = {name: value for name, value in current.items() if name != "retain_pooling"}
    records = all_records()
    records["whole"]["params"] = {**older, "retain_decay": 0.98}
    records["length"]["params"] = current

    page = write_page(tmp_path, records).read_text()

    assert f"Part whole ran with other defaults than the current ones: retain_decay=0.98 (now {current['retain_decay']})" in page
    assert f"retain_pooling=not recorded (now {current['retain_pooling']})" in page
    assert "Part length ran with other defaults" not in page


def test_controlled_section_compares_attention_work(tmp_path):
    records = {"controlled": record("controlled", [
        row(share=0.3, length=4000, recompute_fraction=0.14, attention_work_fraction=0.19),
        row(share=0.1, length=4000, recompute_fraction=0.10, attention_work_fraction=0.13)])}

    page = write_page(tmp_path, records).read_text()

    assert "whose q/k/v are computed: 12.0% of them (median)" in page
    assert "the same token-layers are 16.0% of the full prefill's attention work" in page


def test_parts_merge_on_disk(tmp_path):
    records = all_records()
    save_part(tmp_path, "whole", records["whole"])
    save_part(tmp_path, "length", records["length"])
    save_part(tmp_path, "whole", records["whole"])

    assert sorted(load_parts(tmp_path)) == ["length", "whole"]


def test_break_even_names_first_faster_length():
    rows = [row(tokens=500, speedup=0.8), row(tokens=1000, speedup=1.4), row(tokens=2000, speedup=3.0)]

    assert "from about 1000 tokens" in break_even(rows)


def test_bench_rejects_missing_data(tmp_path, capsys):
    assert main(["bench", "--smoke", "--data", str(tmp_path / "absent"), "--output", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.slow
def test_smoke_bench_writes_page(tmp_path, shared_data):
    assert main(["bench", "--smoke", "--data", str(shared_data), "--output", str(tmp_path)]) == 0

    page = (tmp_path / "benchmarks.md").read_text()
    saved = json.loads((tmp_path / "bench-results" / "smoke.json").read_text())
    assert "## Smoke" in page
    assert "bench --smoke" in page
    assert len(saved["rows"]) == 1
    assert saved["rows"][0]["perplexity_full"] > 1.0
    assert saved["rows"][0]["perplexity_semshare"] > 1.0


def frontier_row(kind, setting, ratio, signal="deviation", hd=0.4, is_default=False):
    return row(kind=kind, setting=setting, perplexity_ratio=ratio, recompute_signal=signal, hd_fraction=hd,
               recompute_decay=0.95, recompute_fraction=0.2, speedup_of_ideal=0.9, is_default=is_default)


def test_frontier_section_reports_gap_closed(tmp_path):
    from semshare_core.bench.frontier import frontier_settings
    from semshare_core.bench.frontier_report import LAYER0_ONLY, frontier_section
    from semshare_core.params import PipelineParams

    assert LAYER0_ONLY in frontier_settings(PipelineParams())
    rows = [frontier_row("meetings", LAYER0_ONLY, 1.20, hd=0.0),
            frontier_row("meetings", "hd 0.4, decay 0.95", 1.05, is_default=True),
            frontier_row("meetings", "random ranking", 1.15, signal="random")]

    text = frontier_section(tmp_path, "frontier", record("frontier", rows))

    assert "| **hd 0.4, decay 0.95** |" in text
    assert "75%" in text  # (1.20 - 1.05) / 0.20
    assert "25%" in text  # (1.20 - 1.15) / 0.20
    assert "The defaults close 75% of that gap" in text
    assert (tmp_path / "img" / "bench-frontier-settings.png").stat().st_size > 0
