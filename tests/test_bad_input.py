"""Bad input to the library and the command line gives typed errors and clear messages."""

import subprocess
import sys

import pytest

import semshare_core as ss
from conftest import ROOT
from semshare_core.analysis import rouge_l
from semshare_core.model import pick_device


@pytest.mark.parametrize("text", ["城市很好", "مدينة جميلة", "Café naïve"])
def test_rouge_l_scores_identical_non_ascii_text(text):
    assert rouge_l(text, text) == 1.0


@pytest.mark.parametrize("field, value", [
    ("max_new_tokens", 2.5), ("lsh_bits", "128"), ("retention", 1), ("hd_fraction", True), ("reuse_mode", 3)])
def test_params_reject_wrong_types(field, value):
    with pytest.raises(ss.InvalidParameterError) as caught:
        ss.PipelineParams(**{field: value})
    assert field in str(caught.value)


def test_params_accept_int_for_float():
    assert ss.PipelineParams(hd_fraction=1).hd_fraction == 1


def test_invalid_device_raises_model_load_error():
    with pytest.raises(ss.ModelLoadError) as caught:
        pick_device("tpu")
    assert "Invalid device 'tpu'" in str(caught.value)


def test_missing_model_folder_says_not_found(tmp_path):
    with pytest.raises(ss.ModelLoadError) as caught:
        ss.load_model(str(tmp_path / "no-model"))
    assert "not found" in str(caught.value)


def test_folder_without_config_is_named(tmp_path):
    with pytest.raises(ss.ModelLoadError) as caught:
        ss.load_model(str(tmp_path))
    assert "no config.json" in str(caught.value)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "semshare_core", "compare", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_cli_rejects_bad_counts_before_loading(tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("Some text.", encoding="utf-8")

    truncate = run_cli("--reference", str(text), "--target", str(text), "--truncate", "0")
    repeats = run_cli("--reference", str(text), "--target", str(text), "--repeats", "0")

    assert truncate.returncode == 2
    assert "--truncate must be at least 1" in truncate.stderr
    assert repeats.returncode == 2
    assert "--repeats must be at least 1" in repeats.stderr


def test_cli_rejects_json_in_missing_folder(tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("Some text.", encoding="utf-8")

    completed = run_cli("--reference", str(text), "--target", str(text), "--json", str(tmp_path / "no" / "o.json"))

    assert completed.returncode == 2
    assert "not found" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.slow
@pytest.mark.parametrize("reference, target, error, words", [
    ("", "Some text.", ss.EmptyPromptError, "reference prompt"),
    ("Some text.", " \n ", ss.EmptyPromptError, "target prompt"),
    (None, "Some text.", ss.InvalidParameterError, "must be text"),
    (b"bytes", "Some text.", ss.InvalidParameterError, "must be text"),
])
def test_compare_names_the_bad_prompt(embedded_bundle, reference, target, error, words):
    with pytest.raises(error) as caught:
        ss.compare(embedded_bundle, reference, target)
    assert words in str(caught.value)


@pytest.mark.slow
def test_compare_accepts_params_as_dict(embedded_bundle):
    result = ss.compare(embedded_bundle, "The park opens in May.", "The park opens in May.",
                        {"max_new_tokens": 2})
    assert result.params.max_new_tokens == 2
