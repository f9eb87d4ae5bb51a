"""Model families: the engine reproduces each supported family's forward; others are rejected."""

import pytest
import torch
from transformers import (AutoModelForCausalLM, Gemma2Config, Gemma3TextConfig, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, MistralConfig, Phi3Config, Qwen2Config, Qwen3Config)

import semshare_core as ss
from semshare_core import layers as L
from semshare_core.baseline import full_prefill
from semshare_core.engine import ReusedCache, selective_prefill
from semshare_core.model import check_supported, load_embedded_tokenizer
from semshare_core.timing import PhaseTimer

SMALL = dict(vocab_size=99, hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, max_position_embeddings=256)
SUPPORTED = {
    "llama": LlamaConfig(**SMALL),
    "llama-linear-rope": LlamaConfig(**SMALL, rope_parameters={"rope_type": "linear", "factor": 2.0,
                                                               "rope_theta": 10000.0}),
    "llama3-rope": LlamaConfig(**SMALL, rope_parameters={
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 64, "rope_theta": 500000.0}),
    "yarn-rope": LlamaConfig(**{**SMALL, "max_position_embeddings": 512}, rope_parameters={
        "rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 256, "rope_theta": 10000.0}),
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


@pytest.mark.parametrize("family", sorted(SUPPORTED))
def test_family_rerotation_is_exact(family):
    # A key computed at position 5 and re-rotated by +40 must equal the key computed at 45.
    model = build(SUPPORTED[family])
    attn = model.model.layers[0].self_attn
    hidden = torch.randn(1, 32, generator=torch.Generator().manual_seed(5))
    old, new = torch.tensor([5]), torch.tensor([45])
    _, key_old, _ = L.project_qkv(attn, hidden, *L.rope_tables(model, old, torch.float32))
    _, key_new, _ = L.project_qkv(attn, hidden, *L.rope_tables(model, new, torch.float32))

    moved = L.apply_rotation(key_old, *L.delta_rope_tables(model, new - old, torch.float32))

    assert torch.allclose(moved, key_new, atol=1e-5)


def test_sliding_window_limits_context():
    bundle = ss.ModelBundle(name="tiny-mistral", model=build(MistralConfig(**SMALL, sliding_window=64)),
                            tokenizer=None, device=torch.device("cpu"))

    assert bundle.max_context == 64


@pytest.mark.parametrize("config, reason", [
    (GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=99), "gpt2"),
    (Qwen3Config(**SMALL), "qwen3"),
    (Gemma2Config(**SMALL), "gemma2"),
    (Gemma3TextConfig(**SMALL), "gemma3"),
    (Phi3Config(**{k: v for k, v in SMALL.items() if k != "head_dim"}), "phi3"),
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


def test_corrupt_weights_fail_cleanly(tmp_path):
    LlamaConfig(**SMALL).save_pretrained(tmp_path)
    load_embedded_tokenizer().save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x00not a safetensors file" * 50)

    with pytest.raises(ss.ModelLoadError, match="Could not load the weights"):
        ss.load_model(str(tmp_path))
