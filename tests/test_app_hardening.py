"""AppTest checks of the operator limits in the app: models, memory, tokens, uploads, time.

Each test sets the limits through environment variables, which the app reads on every rerun.
"""

from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import semshare_core as ss
from app import model_loader

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
# The first page load may convert the embedded model.
TIMEOUT_S = 300
MAX_NEW_TOKENS = 4

pytestmark = pytest.mark.slow


def start_app() -> AppTest:
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()
    assert not at.exception, [item.value for item in at.exception]
    at.sidebar.slider(key="param_max_new_tokens").set_value(MAX_NEW_TOKENS)
    return at


def error_texts(at: AppTest) -> list[str]:
    return [item.value for item in at.error]


def run_and_expect_error(at: AppTest, fragment: str) -> None:
    at.button(key="run").click().run()

    assert not at.exception, [item.value for item in at.exception]
    assert any(fragment in text for text in error_texts(at)), error_texts(at)
    assert "result" not in at.session_state
    assert len(at.tabs) == 0


def test_invalid_setting_names_variable(monkeypatch):
    monkeypatch.setenv("SEMSHARE_MEMORY_BUDGET_MB", "lots")
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("SEMSHARE_MEMORY_BUDGET_MB" in text for text in error_texts(at)), error_texts(at)
    assert len(at.button) == 0


def test_hub_model_outside_allow_list(monkeypatch):
    monkeypatch.setenv("SEMSHARE_ALLOWED_MODELS", "embedded")
    at = start_app()
    at.sidebar.radio(key="model_source").set_value("Suggested hub model").run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("is not allowed on this server. Allowed: embedded" in text for text in error_texts(at)), \
        error_texts(at)
    assert at.button(key="run").disabled


def test_local_folder_rejected_by_default(tmp_path):
    at = start_app()
    at.sidebar.radio(key="model_source").set_value("Local folder or hub id").run()
    at.sidebar.text_input(key="model_path").input(str(tmp_path)).run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("SEMSHARE_ALLOW_LOCAL_MODELS=1" in text for text in error_texts(at)), error_texts(at)
    assert at.button(key="run").disabled


def test_run_over_memory_budget(monkeypatch):
    # The embedded model's float32 weights alone take about 513 MiB.
    monkeypatch.setenv("SEMSHARE_MEMORY_BUDGET_MB", "100")
    at = start_app()

    run_and_expect_error(at, "budget of 100 MiB")
    assert any("weights 513" in text for text in error_texts(at)), error_texts(at)


def test_prompt_over_token_limit(monkeypatch):
    monkeypatch.setenv("SEMSHARE_MAX_PROMPT_TOKENS", "50")
    at = start_app()

    run_and_expect_error(at, "this server allows at most 50 tokens per prompt")


def test_run_past_time_limit(monkeypatch):
    # One microsecond passes before the first phase boundary, so the first check fires.
    monkeypatch.setenv("SEMSHARE_TIME_LIMIT_S", "0.000001")
    at = start_app()

    run_and_expect_error(at, "The run timed out")
    assert any("past this server's limit of 1e-06 s" in text for text in error_texts(at)), error_texts(at)


def test_upload_fills_text_box():
    at = start_app()
    text = "Café prices rose – “sharply” – in the old town."
    at.file_uploader(key="target_text_upload").set_value(("target.txt", text.encode("cp1252"), "text/plain")).run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.text_area(key="target_text").value == text
    assert error_texts(at) == []


@pytest.mark.parametrize("content, fragment", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
    (b"\x81\x8d\x8f\x90\x9d", "neither UTF-8 nor cp1252"),
    (b"word " * 300, "upload limit of 1,000 bytes"),
])
def test_bad_upload_shows_error(monkeypatch, content, fragment):
    monkeypatch.setenv("SEMSHARE_MAX_UPLOAD_MB", "0.001")
    at = start_app()
    before = at.text_area(key="reference_text").value
    at.file_uploader(key="reference_text_upload").set_value(("bad.txt", content, "text/plain")).run()

    assert not at.exception, [item.value for item in at.exception]
    assert any(fragment in text for text in error_texts(at)), error_texts(at)
    assert at.text_area(key="reference_text").value == before


@pytest.mark.parametrize("fault, fragment", [
    (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "The device ran out of memory"),
    (RuntimeError("an engine bug"), "The run failed unexpectedly (RuntimeError: an engine bug)"),
])
def test_run_fault_shows_message(monkeypatch, fault, fragment):
    def failing_compare(*args, **kwargs):
        raise fault

    at = start_app()
    monkeypatch.setattr(ss, "compare", failing_compare)

    run_and_expect_error(at, fragment)


def test_model_load_fault_shows_message(monkeypatch):
    def failing_load(name_or_path, device):
        raise RuntimeError("a loader bug")

    monkeypatch.setattr(model_loader, "load_bundle", failing_load)
    at = AppTest.from_file(str(APP_PATH), default_timeout=TIMEOUT_S).run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("unexpected RuntimeError: a loader bug" in text for text in error_texts(at)), error_texts(at)
    assert at.button(key="run").disabled
