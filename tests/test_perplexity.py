"""Continuation perplexity over both caches and the ablation parameters, on a tiny Llama."""

import math

import pytest
import torch

from semshare_core.baseline import full_prefill
from semshare_core.bench.settings import ablation_settings, constant_retain_share
from semshare_core.engine import ReusedCache, selective_prefill
from semshare_core.params import PipelineParams
from semshare_core.perplexity import first_step_kl, perplexity_from_layers, perplexity_from_model
from semshare_core.selection import retain_budget
from semshare_core.timing import PhaseTimer
from semshare_core.errors import InvalidParameterError
from tiny import tiny_llama

CPU = torch.device("cpu")
CONTINUATION = [5, 17, 33, 8, 9, 60]


def random_ids(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(3, 99, (n,), generator=torch.Generator().manual_seed(seed))


def direct_perplexity(model, prompt: torch.Tensor, continuation: list[int]) -> float:
    ids = torch.cat([prompt, torch.tensor(continuation)])
    logits = model(input_ids=ids[None]).logits[0, prompt.numel() - 1:-1].float()
    nll = torch.nn.functional.cross_entropy(logits, torch.tensor(continuation))
    return math.exp(float(nll))


def test_model_perplexity_matches_one_forward():
    model = tiny_llama()
    ids = random_ids(40)
    full = full_prefill(model, ids)

    value = perplexity_from_model(model, full.past_key_values, full.logits, 40, CONTINUATION)

    assert value == pytest.approx(direct_perplexity(model, ids, CONTINUATION), rel=1e-4)
    assert full.past_key_values.get_seq_length() == 40


def test_layer_perplexity_of_full_cache_matches_model():
    model = tiny_llama()
    ids = random_ids(40)
    out = selective_prefill(model, ids, None, PipelineParams(recompute_all=True, retention=False), PhaseTimer(CPU))

    value = perplexity_from_layers(model, out.cache, out.logits, 40, CONTINUATION)

    assert value == pytest.approx(direct_perplexity(model, ids, CONTINUATION), rel=1e-4)


def test_layer_perplexity_after_eviction_differs():
    model = tiny_llama()
    ids = random_ids(60)
    params = PipelineParams(recompute_all=True, retain_first=0.3, retain_min_tokens=4)
    out = selective_prefill(model, ids, None, params, PhaseTimer(CPU))

    value = perplexity_from_layers(model, out.cache, out.logits, 60, CONTINUATION)

    assert math.isfinite(value)
    assert value != pytest.approx(direct_perplexity(model, ids, CONTINUATION), rel=1e-6)


def test_first_step_kl_zero_for_same_logits():
    logits = torch.randn(99)

    assert first_step_kl(logits, logits) == pytest.approx(0.0, abs=1e-6)
    assert first_step_kl(logits, torch.randn(99)) > 0


def test_zeros_mode_fills_zeros():
    model = tiny_llama()
    reference = full_prefill(model, random_ids(20, seed=3))
    reused = ReusedCache(reference.kv, torch.arange(30) % 20, mode="zeros")

    keys, values = reused.layer(model, 1)

    assert keys.shape == (2, 30, 8)
    assert not keys.any()
    assert not values.any()


def test_random_mode_keeps_reference_spread():
    model = tiny_llama()
    reference = full_prefill(model, random_ids(200, seed=3))
    reused = ReusedCache(reference.kv, torch.arange(200), mode="random")

    keys, _ = reused.layer(model, 0)
    true_keys = reference.kv[0][0]

    assert keys.std().item() == pytest.approx(true_keys.std().item(), rel=0.1)
    assert not torch.allclose(keys, true_keys)


def test_reuse_mode_rejects_unknown():
    with pytest.raises(InvalidParameterError, match="reuse_mode"):
        PipelineParams(reuse_mode="copy")


def test_growing_retention_reverses_budgets():
    decaying = PipelineParams(retain_first=0.9, retain_decay=0.9, retain_min_tokens=1)
    growing = decaying.replace(retain_growing=True)
    budgets = [retain_budget(i, 1000, decaying, 6) for i in range(6)]

    assert [retain_budget(i, 1000, growing, 6) for i in range(6)] == budgets[::-1]


def test_growing_retention_needs_layer_count():
    with pytest.raises(ValueError, match="n_layers"):
        retain_budget(0, 100, PipelineParams(retain_growing=True))


def test_ablation_totals_equal():
    base = PipelineParams()
    settings = ablation_settings(base, 30)
    constant = next(params for name, params in settings.items() if name.startswith("retention constant"))
    totals = [sum(retain_budget(i, 4096, params, 30) for i in range(30))
              for params in (base, constant, base.replace(retain_growing=True))]

    assert constant_retain_share(base, 30) < 1.0
    assert max(totals) - min(totals) <= 30


def test_forced_tokens_recomputed_everywhere():
    model = tiny_llama()
    ids = random_ids(50)
    forced = torch.zeros(50, dtype=torch.bool)
    forced[[3, 17, 30]] = True
    reference = full_prefill(model, random_ids(50, seed=4))
    reused = ReusedCache(reference.kv, torch.arange(50), forced=forced)
    params = PipelineParams(hd_fraction=0.1, retention=False)

    out = selective_prefill(model, ids, reused, params, PhaseTimer(CPU))

    assert out.trace.recomputed[:, [3, 17, 30]].all()
    assert not out.trace.recomputed[1:, 5].any()


def test_copied_spans_need_two_tokens():
    from semshare_core.pipeline import outside_copied_spans

    reference = [10, 11, 12, 13, 14]
    target = torch.tensor([10, 11, 12, 99, 14, 11])
    mapping = torch.tensor([0, 1, 2, 3, 4, 1])

    outside = outside_copied_spans(reference, target, mapping)

    assert outside.tolist() == [True, False, False, True, True, True]
