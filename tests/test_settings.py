"""Operator settings and the limit checks the app applies, without a model."""

from types import SimpleNamespace

import pytest
from transformers import LlamaConfig

from app.inputs import read_upload
from semshare_core import limits
from semshare_core.errors import (InputDecodeError, MemoryBudgetError, ModelNotAllowedError,
                                  PromptTooLongError, RunTimeoutError, SettingsError)
from semshare_core.model import EMBEDDED_MODEL_ID
from semshare_core.settings import OperatorSettings, load_settings

# SmolLM2-135M's shape: 30 layers, 9 query heads, 3 KV heads of 64 dimensions.
SMALL_CONFIG = SimpleNamespace(num_hidden_layers=30, num_attention_heads=9, num_key_value_heads=3,
                               hidden_size=576, head_dim=64, intermediate_size=1536, vocab_size=49152,
                               tie_word_embeddings=True)


def test_defaults_without_environment():
    settings = load_settings({})

    assert settings == OperatorSettings()
    assert settings.allowed_models is None
    assert not settings.allow_local_models


def test_environment_sets_every_field():
    settings = load_settings({
        "SEMSHARE_ALLOWED_MODELS": "embedded, Qwen/*",
        "SEMSHARE_ALLOW_LOCAL_MODELS": "1",
        "SEMSHARE_MEMORY_BUDGET_MB": "1024",
        "SEMSHARE_TIME_LIMIT_S": "30.5",
        "SEMSHARE_MAX_PROMPT_TOKENS": "2048",
        "SEMSHARE_MAX_UPLOAD_MB": "0.5",
    })

    assert settings.allowed_models == ("embedded", "Qwen/*")
    assert settings.allow_local_models
    assert settings.memory_budget_bytes == 1024 * 1024 ** 2
    assert settings.time_limit_s == 30.5
    assert settings.max_prompt_tokens == 2048
    assert settings.max_upload_bytes == 500_000


def test_config_file_with_environment_override(tmp_path):
    config = tmp_path / "semshare.toml"
    config.write_text('allowed_models = ["embedded"]\nmemory_budget_mb = 512\ntime_limit_s = 10\n')

    settings = load_settings({"SEMSHARE_CONFIG": str(config), "SEMSHARE_TIME_LIMIT_S": "20"})

    assert settings.allowed_models == ("embedded",)
    assert settings.memory_budget_mb == 512
    assert settings.time_limit_s == 20


@pytest.mark.parametrize("variable, value", [
    ("SEMSHARE_MEMORY_BUDGET_MB", "lots"),
    ("SEMSHARE_MEMORY_BUDGET_MB", "-1"),
    ("SEMSHARE_TIME_LIMIT_S", "nan"),
    ("SEMSHARE_TIME_LIMIT_S", "inf"),
    ("SEMSHARE_MAX_PROMPT_TOKENS", "10.5"),
    ("SEMSHARE_MAX_UPLOAD_MB", "0"),
    ("SEMSHARE_ALLOW_LOCAL_MODELS", "maybe"),
    ("SEMSHARE_ALLOWED_MODELS", " , "),
])
def test_invalid_variable_is_named(variable, value):
    with pytest.raises(SettingsError) as raised:
        load_settings({variable: value})

    assert raised.value.variable == variable
    assert variable in str(raised.value)


def test_config_file_errors_name_the_variable(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("memory_budget_mb = \n")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("budget = 5\n")
    bad_value = tmp_path / "bad.toml"
    bad_value.write_text("allow_local_models = 3\n")

    for path in (tmp_path / "missing.toml", broken, unknown):
        with pytest.raises(SettingsError) as raised:
            load_settings({"SEMSHARE_CONFIG": str(path)})
        assert raised.value.variable == "SEMSHARE_CONFIG"
    with pytest.raises(SettingsError, match="allow_local_models in"):
        load_settings({"SEMSHARE_CONFIG": str(bad_value)})


@pytest.mark.parametrize("name, allowed", [
    (None, True),
    (EMBEDDED_MODEL_ID, True),
    ("Qwen/Qwen2.5-0.5B-Instruct", True),
    ("/models/llama", False),
    ("./llama", False),
    ("~/llama", False),
])
def test_default_allows_embedded_and_hub_ids(name, allowed):
    settings = OperatorSettings()
    if allowed:
        limits.check_model_allowed(name, settings)
        return
    with pytest.raises(ModelNotAllowedError, match="Local model folders are not allowed"):
        limits.check_model_allowed(name, settings)


def test_existing_folder_counts_as_local(tmp_path, monkeypatch):
    (tmp_path / "owner" / "model").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)

    assert limits.is_local_path("owner/model")
    assert not limits.is_local_path("owner/other-model")


def test_allow_list_with_patterns():
    settings = OperatorSettings(allowed_models=("embedded", "Qwen/*"))

    limits.check_model_allowed(None, settings)
    limits.check_model_allowed("Qwen/Qwen2.5-1.5B-Instruct", settings)
    with pytest.raises(ModelNotAllowedError, match=r"Allowed: embedded, Qwen/\*"):
        limits.check_model_allowed("TinyLlama/TinyLlama-1.1B-Chat-v1.0", settings)


def test_local_folders_when_enabled(tmp_path):
    limits.check_model_allowed(str(tmp_path), OperatorSettings(allow_local_models=True))


def test_prompt_token_limit():
    settings = OperatorSettings(max_prompt_tokens=100)

    limits.check_prompt_tokens(100, settings, "target")
    with pytest.raises(PromptTooLongError, match="101 tokens.*at most 100") as raised:
        limits.check_prompt_tokens(101, settings, "target")
    assert raised.value.limit == 100
    limits.check_prompt_tokens(10 ** 6, OperatorSettings(max_prompt_tokens=0), "target")


def test_weight_estimate_of_small_config():
    # Tied embeddings: 49152 × 576 once, plus 30 layers of attention, MLP and two norms.
    per_layer = 2 * 576 * 576 + 2 * 576 * 192 + 3 * 576 * 1536 + 2 * 576
    expected = (49152 * 576 + 30 * per_layer + 576) * 4

    assert limits.estimate_weight_bytes(SMALL_CONFIG, 4) == expected


def test_memory_estimate_grows_with_tokens():
    short = limits.estimate_run_memory(SMALL_CONFIG, 500 * 2 ** 20, 4, 300, 300, 48)
    long = limits.estimate_run_memory(SMALL_CONFIG, 500 * 2 ** 20, 4, 6000, 6000, 48)

    assert short.weights == long.weights
    assert long.caches > 10 * short.caches
    assert long.views == 30 * 6000 * (2 + 12)
    assert long.total == long.weights + long.caches + long.activations + long.views + long.runtime


def test_memory_over_budget_names_numbers():
    estimate = limits.estimate_run_memory(SMALL_CONFIG, 500 * 2 ** 20, 4, 6000, 6000, 48)

    limits.check_memory(estimate, OperatorSettings(memory_budget_mb=0))
    with pytest.raises(MemoryBudgetError, match="budget of 1,000 MiB") as raised:
        limits.check_memory(estimate, OperatorSettings(memory_budget_mb=1000))
    assert raised.value.estimate_bytes == estimate.total
    assert "weights 500" in str(raised.value)


def test_deadline_raises_after_limit():
    now = [0.0]
    seen = []
    report = limits.deadline_progress(OperatorSettings(time_limit_s=10), lambda *args: seen.append(args),
                                      clock=lambda: now[0])

    report("tokenize", 0.0)
    now[0] = 10.5
    with pytest.raises(RunTimeoutError, match="limit of 10 s") as raised:
        report("decode", 0.6)
    assert seen == [("tokenize", 0.0)]
    assert raised.value.elapsed_s == 10.5


def test_deadline_keeps_finished_run():
    now = [0.0]
    report = limits.deadline_progress(OperatorSettings(time_limit_s=10), clock=lambda: now[0])
    now[0] = 11.0

    report("done", 1.0)


def test_deadline_off_at_zero():
    now = [0.0]
    report = limits.deadline_progress(OperatorSettings(time_limit_s=0), clock=lambda: now[0])
    now[0] = 1e9

    report("decode", 0.6)


@pytest.mark.parametrize("raw, text", [
    ("Café".encode("utf-8-sig"), "Café"),
    ("Café".encode("utf-16"), "Café"),
    ("Café – “quoted”".encode("cp1252"), "Café – “quoted”"),
])
def test_upload_decodes_text(raw, text):
    assert read_upload("doc.txt", len(raw), lambda: raw, 1000) == text


@pytest.mark.parametrize("raw, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"x" * 1001, "upload limit of 1,000 bytes"),
    (b"  \n\t \x07 ", "no text"),
])
def test_upload_rejects_bad_files(raw, message):
    with pytest.raises(InputDecodeError, match=message):
        read_upload("doc.txt", len(raw), lambda: raw, 1000)


def test_oversized_upload_is_not_read():
    def read_bytes():
        raise AssertionError("an oversized upload must be rejected before it is read")

    with pytest.raises(InputDecodeError, match="upload limit"):
        read_upload("huge.txt", 10 ** 9, read_bytes, 1000)


def test_weights_over_budget_before_loading(tmp_path):
    # A config alone: the check must not need the weights.
    LlamaConfig(vocab_size=32000, hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                num_attention_heads=32, num_key_value_heads=4).save_pretrained(tmp_path)

    limits.check_weights_fit(str(tmp_path), "cpu", OperatorSettings(memory_budget_mb=8192))
    with pytest.raises(MemoryBudgetError, match="above this server's memory budget of 1,024 MiB") as raised:
        limits.check_weights_fit(str(tmp_path), "cpu", OperatorSettings(memory_budget_mb=1024))
    assert raised.value.estimate_bytes > 4 * 10 ** 9


def test_weights_check_leaves_missing_config_to_loader(tmp_path):
    limits.check_weights_fit(str(tmp_path / "missing"), "cpu", OperatorSettings(memory_budget_mb=1))
