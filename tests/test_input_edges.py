"""Unusual but valid inputs through the whole pipeline on the tiny random Llama."""

import numpy as np
import torch
import pytest

import semshare_core as ss
from test_fuzz import tiny_bundle  # noqa: F401 - pytest finds the fixture by this name

PARAMS = ss.PipelineParams(max_new_tokens=2, similarity_threshold=0.0)
LONG_TEXT = " ".join(["The council voted to keep the park open after the rain."] * 20)


def check_result(result: ss.RunResult) -> None:
    assert result.mapping.shape == (result.n_target_tokens,)
    assert 0 <= result.mapping.min()
    assert result.mapping.max() < result.n_reference_tokens
    assert result.recomputed.shape == (result.n_layers, result.n_target_tokens)


@pytest.mark.parametrize("reference, target", [
    ("Hi", "Hi"),
    ("Привет, 世界! 🙂 مرحبا bonjour", "Bonjour 🙂, мир, 世界 und مرحبا"),
    ("Short note.", LONG_TEXT),
    (LONG_TEXT, "Short note."),
], ids=["single-token", "mixed-scripts-emoji", "reference-shorter", "reference-longer"])
def test_unusual_pair_runs(tiny_bundle, reference, target):  # noqa: F811
    check_result(ss.compare(tiny_bundle, reference, target, PARAMS))


def test_control_characters_are_dropped(tiny_bundle):  # noqa: F811
    prompt = ss.build_prompt(tiny_bundle, "park\x07 open\x1b\r\nnow")

    assert prompt.text == "park open\nnow"


def test_identical_prompts_match_themselves(tiny_bundle):  # noqa: F811
    result = ss.compare(tiny_bundle, LONG_TEXT, LONG_TEXT, PARAMS)

    assert result.similarity == pytest.approx(1.0)
    assert np.array_equal(result.mapping, np.arange(result.n_target_tokens))


def test_compare_leaves_model_unchanged(tiny_bundle):  # noqa: F811
    # Sessions share one model, so a run must not write to its weights or buffers.
    before = {name: tensor.clone() for name, tensor in tiny_bundle.model.state_dict().items()}

    ss.compare(tiny_bundle, LONG_TEXT, "Short note about the park.", PARAMS)

    after = tiny_bundle.model.state_dict()
    assert after.keys() == before.keys()
    changed = [name for name, tensor in before.items() if not torch.equal(tensor, after[name])]
    assert changed == []
