"""Model families: the engine reproduces each supported family's forward; others are rejected."""

import pytest
import torch
from transformers import (AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, MistralConfig,
                          Qwen2Config, Qwen3Config)

import semshare_core as ss
from semshare_core.baseline import full_prefill
from semshare_core.engine import ReusedCache, selective_prefill
from semshare_core.model import check_supported
from semshare_core.timing import PhaseTimer

SMALL = dict(vocab_size=99, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, max_position_embeddings=256)
SUPPORTED = {
    "llama": LlamaConfig(**SMALL),
    "llama-linear-rope": LlamaConfig(**SMALL, rope_parameters={"rope_type": "linear", "factor": 2.0,
                                                               "rope_theta": 10000.0}),
    "mistral": MistralConfig(**SMALL, sliding_window=None),
    "qwen2": Qwen2Config(**SMALL),
}


def build(config):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    model.requires_grad_(False)
    return model


@pytest.mark.parametrize("family", sorted(SUPPORTED))
def test_family_recompute_all_matches_forward(family):
    model = build(SUPPORTED[family])
    check_supported(model.config)
    ids = torch.randint(3, 99, (48,), generator=torch.Generator().manual_seed(2))
    params = ss.PipelineParams(recompute_all=True, retention=False)

    out = selective_prefill(model, ids, None, params, PhaseTimer(torch.device("cpu")))

    assert (out.logits - full_prefill(model, ids).logits).abs().max() < 1e-3


@pytest.mark.parametrize("family", sorted(SUPPORTED))
def test_family_partial_recompute_runs(family):
    model = build(SUPPORTED[family])
    ids = torch.randint(3, 99, (64,), generator=torch.Generator().manual_seed(3))
    reference = full_prefill(model, torch.randint(3, 99, (50,), generator=torch.Generator().manual_seed(4)))
    reused = ReusedCache(reference.kv, torch.randint(0, 50, (64,)))

    out = selective_prefill(model, ids, reused, ss.PipelineParams(), PhaseTimer(torch.device("cpu")))

    assert torch.isfinite(out.logits).all()
    assert out.trace.recomputed.float().mean() < 1.0


@pytest.mark.parametrize("config, reason", [
    (GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=99), "gpt2"),
    (Qwen3Config(**SMALL), "qwen3"),
    (LlamaConfig(**SMALL, rope_parameters={"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}),
     "dynamic"),
])
def test_unsupported_config_is_rejected(config, reason):
    with pytest.raises(ss.UnsupportedModelError) as caught:
        check_supported(config)
    assert reason in str(caught.value)


def test_unsupported_local_model_is_rejected(tmp_path):
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)).save_pretrained(tmp_path)

    with pytest.raises(ss.UnsupportedModelError) as caught:
        ss.load_model(str(tmp_path))
    assert "llama" in str(caught.value)


def test_folder_without_weights_fails_cleanly(tmp_path):
    LlamaConfig(**SMALL).save_pretrained(tmp_path)

    with pytest.raises(ss.ModelLoadError):
        ss.load_model(str(tmp_path))


def test_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(ss.ModelLoadError):
        ss.load_model(str(tmp_path / "no-such-model"))
