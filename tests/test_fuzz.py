"""Property tests: random texts and parameters through the whole pipeline on a tiny model.

The tiny Llama shares the embedded model's vocabulary, so the real tokenizer and chat
template are used while each run takes well under a second.
"""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import LlamaConfig, LlamaForCausalLM

import semshare_core as ss
from semshare_core.model import load_embedded_tokenizer


@pytest.fixture(scope="module")
def tiny_bundle():
    tokenizer = load_embedded_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=1024,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config).eval()
    model.requires_grad_(False)
    return ss.ModelBundle(name="tiny-random-llama", model=model, tokenizer=tokenizer, device=torch.device("cpu"))


texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=300)
words = st.lists(st.sampled_from(["the", "council", "park", "voted", "rain", "über", "日本", "🙂", "\x07", "\n"]),
                 min_size=0, max_size=120).map(" ".join)
params = st.builds(
    ss.PipelineParams,
    rope_in_matching=st.booleans(),
    lsh_bits=st.sampled_from([8, 64, 128]),
    lsh_tables=st.integers(1, 3),
    similarity_threshold=st.floats(0.0, 1.0),
    rerotate_keys=st.booleans(),
    hd_fraction=st.floats(0.0, 1.0),
    recompute_decay=st.floats(0.05, 1.0),
    tail_tokens=st.integers(1, 40),
    observation_queries=st.integers(0, 20),
    retention=st.booleans(),
    retain_first=st.floats(0.05, 1.0),
    retain_decay=st.floats(0.05, 1.0),
    retain_min_tokens=st.integers(1, 50),
    max_new_tokens=st.integers(0, 3),
)
fuzz_settings = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@fuzz_settings
@given(reference=st.one_of(texts, words), target=st.one_of(texts, words), pipeline=params)
def test_random_inputs_give_consistent_result(tiny_bundle, reference, target, pipeline):
    try:
        result = ss.compare(tiny_bundle, reference, target, pipeline)
    except ss.SemShareError:
        return

    n_target = result.n_target_tokens
    assert result.mapping.shape == (n_target,)
    assert result.mapping.min() >= 0
    assert result.mapping.max() < result.n_reference_tokens
    assert result.recomputed.shape == result.retained.shape == (result.n_layers, n_target)
    for fraction in (result.similarity, result.recompute_fraction, result.retained_fraction,
                     result.rouge_l_outputs, result.lexical_similarity):
        assert 0.0 <= fraction <= 1.0
    assert math.isfinite(result.max_abs_logit_diff)
    assert result.recomputed[:, -1].all()
    assert np.isfinite(result.kv_deviation_after).all()


@fuzz_settings
@given(reference=words, target=words)
def test_recompute_all_always_reproduces_full(tiny_bundle, reference, target):
    pipeline = ss.PipelineParams(recompute_all=True, retention=False, similarity_threshold=0.0, max_new_tokens=2)
    try:
        result = ss.compare(tiny_bundle, reference, target, pipeline)
    except ss.EmptyPromptError:
        return

    assert result.max_abs_logit_diff < 1e-4
    assert result.output_tokens_semshare == result.output_tokens_full
