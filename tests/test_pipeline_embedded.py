"""Integration tests of the whole pipeline on the embedded SmolLM2-135M-Instruct."""

import json
import subprocess
import sys

import numpy as np
import pytest

import semshare_core as ss
from conftest import ROOT

pytestmark = pytest.mark.slow

STORY = ("The city council voted on Tuesday to turn the old railway yard into a public park. "
         "Work will start next spring and should take two years. The park will have a playground, "
         "a pond and paths for cyclists. Some shop owners worry about losing parking spaces, "
         "but most residents who spoke at the meeting welcomed the plan.")
REWRITE = ("On Tuesday the council decided that the former railway yard will become a public park. "
           "Building begins next spring and is expected to last two years. Plans include a "
           "playground, a pond and cycle paths. A few shopkeepers fear they will lose parking, "
           "yet most people who spoke at the meeting supported the idea.")


def read_story(shared_data, level: str, name: str) -> str:
    raw = (shared_data / "onestopenglish" / f"{level.capitalize()}-Txt" / f"{name}-{level}.txt").read_bytes()
    return ss.textio.decode_text(raw)


def test_recompute_all_reproduces_full_prefill(embedded_bundle):
    # Threshold 0 forces reuse: this checks the engine, not the similarity gate.
    params = ss.PipelineParams(recompute_all=True, retention=False, max_new_tokens=16, similarity_threshold=0.0)

    result = ss.compare(embedded_bundle, STORY, REWRITE, params)

    assert result.reused
    assert result.max_abs_logit_diff < 1e-3
    assert result.output_semshare == result.output_full
    assert result.recompute_fraction == 1.0
    assert result.attention_work_fraction == pytest.approx(1.0)
    assert np.abs(result.kv_deviation_after).max() < 1e-3


def test_identical_prompts_give_identity_mapping(embedded_bundle):
    result = ss.compare(embedded_bundle, STORY, STORY, ss.PipelineParams(max_new_tokens=4))

    assert result.similarity == 1.0
    assert np.array_equal(result.mapping, np.arange(result.n_target_tokens))
    assert result.first_token_agree


def test_reuse_saves_compute_and_memory(embedded_bundle):
    params = ss.PipelineParams(max_new_tokens=8, similarity_threshold=0.0)

    result = ss.compare(embedded_bundle, STORY, REWRITE, params)

    assert result.reused
    assert result.recompute_fraction < 0.4
    assert result.recompute_fraction < result.attention_work_fraction < 1.0  # recomputed tokens sit late
    assert result.kv_bytes_semshare < result.kv_bytes_full
    assert result.recomputed[0].all()
    assert result.recomputed[:, -1].all()
    assert result.kv_deviation_after.shape == (result.n_layers, result.n_target_tokens)
    assert result.kv_deviation_after.mean() < result.kv_deviation_before.mean()


def test_real_rewrite_is_above_threshold(embedded_bundle, shared_data):
    reference = read_story(shared_data, "adv", "Amazon")
    target = read_story(shared_data, "int", "Amazon")

    result = ss.compare(embedded_bundle, reference, target, ss.PipelineParams(max_new_tokens=4), truncate=400)

    assert result.similarity >= 0.8
    assert result.reused


def test_unrelated_pair_falls_back(embedded_bundle, shared_data):
    reference = read_story(shared_data, "adv", "Amazon")
    target = read_story(shared_data, "int", "Banksy")

    result = ss.compare(embedded_bundle, reference, target, ss.PipelineParams(max_new_tokens=4), truncate=400)

    assert result.similarity < 0.8
    assert not result.reused
    assert "below the threshold" in result.fallback_reason
    assert result.output_semshare == result.output_full


def test_empty_prompt_raises_typed_error(embedded_bundle):
    with pytest.raises(ss.EmptyPromptError):
        ss.compare(embedded_bundle, STORY, " \n\t\x07 ")


def test_prompt_longer_than_context_raises(embedded_bundle):
    too_long = "word " * (embedded_bundle.max_context + 10)
    with pytest.raises(ss.PromptTooLongError) as caught:
        ss.build_prompt(embedded_bundle, too_long)
    assert caught.value.limit == embedded_bundle.max_context


def test_cli_writes_json_summary(tmp_path):
    reference, target, out = tmp_path / "ref.txt", tmp_path / "tgt.txt", tmp_path / "out.json"
    reference.write_text(STORY, encoding="utf-8")
    target.write_text(REWRITE, encoding="utf-8")

    completed = subprocess.run(
        [sys.executable, "-m", "semshare_core", "compare", "--reference", str(reference),
         "--target", str(target), "--max-new-tokens", "6", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)

    assert completed.returncode == 0, completed.stderr
    assert "speedup" in completed.stdout
    summary = json.loads(out.read_text())
    expected_keys = {
        "model", "device", "n_reference_tokens", "n_target_tokens", "similarity", "lexical_similarity",
        "reused", "recompute_fraction", "retained_fraction", "prefill_seconds_full",
        "prefill_seconds_semshare", "speedup", "phase_seconds", "kv_bytes_full", "kv_bytes_semshare",
        "output_full", "output_semshare", "rouge_l_outputs", "first_token_agree", "max_abs_logit_diff"}
    assert expected_keys <= set(summary)


def test_cli_reports_missing_file_without_traceback(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "semshare_core", "compare", "--reference", str(tmp_path / "none.txt"),
         "--target", str(tmp_path / "none.txt")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "Could not read" in completed.stderr


def repeated_word_4grams(text: str) -> float:
    """Share of word 4-grams that repeat an earlier one: near 0 for prose, about 0.5 for a loop."""
    words = text.split()
    grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


@pytest.mark.parametrize("preset", ["01-news-plain-language.json", "02-meeting-notes-two-teams.json"])
def test_default_eviction_output_does_not_loop(embedded_bundle, preset):
    # Ranked token by token (retain_pooling=1) at the same 42% eviction, the outputs repeated 23% and 82%.
    pair = json.loads((ROOT / "assets" / "presets" / preset).read_text(encoding="utf-8"))

    result = ss.compare(embedded_bundle, pair["reference"], pair["target"])

    assert result.reused
    assert 1 - result.kv_bytes_semshare / result.kv_bytes_full > 0.4
    assert repeated_word_4grams(result.output_semshare) < 0.2, result.output_semshare
