"""Engine tests on a tiny random Llama: exactness of recompute-all, real savings, retention."""

import pytest
import torch

from semshare_core import layers as L
from semshare_core import staircase
from semshare_core.baseline import full_prefill
from semshare_core.decode import decode_from_layers, decode_from_model
from semshare_core.engine import ReusedCache, selective_prefill
from semshare_core.params import PipelineParams
from semshare_core.selection import choose_retained, pooled, recompute_budget, retain_budget
from semshare_core.timing import PhaseTimer
from tiny import tiny_llama

CPU = torch.device("cpu")


def random_ids(n: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(3, 99, (n,), generator=torch.Generator().manual_seed(seed))


def reused_from(model, reference_ids, mapping, rerotate=True) -> ReusedCache:
    reference = full_prefill(model, reference_ids)
    return ReusedCache(reference.kv, mapping, rerotate)


@pytest.mark.parametrize("kv_heads", [4, 2, 1])
def test_recompute_all_matches_model_forward(kv_heads):
    model = tiny_llama(num_key_value_heads=kv_heads)
    ids = random_ids(40)
    full = full_prefill(model, ids)
    params = PipelineParams(recompute_all=True, retention=False)

    out = selective_prefill(model, ids, None, params, PhaseTimer(CPU))

    assert torch.allclose(out.logits, full.logits, atol=1e-5)
    for layer, (keys, values) in zip(out.cache, full.kv):
        assert torch.allclose(layer.keys, keys, atol=1e-5)
        assert torch.allclose(layer.values, values, atol=1e-5)


def test_recompute_all_ignores_reused_cache():
    model = tiny_llama()
    ids = random_ids(30)
    reused = reused_from(model, random_ids(25, seed=7), torch.randint(0, 25, (30,)))
    params = PipelineParams(recompute_all=True, retention=False)

    out = selective_prefill(model, ids, reused, params, PhaseTimer(CPU))

    assert torch.allclose(out.logits, full_prefill(model, ids).logits, atol=1e-5)
    assert out.trace.recomputed.all()


def test_identity_reuse_of_same_prompt_is_exact():
    # Reusing a prompt's own cache with the identity mapping must give the true cache.
    model = tiny_llama()
    ids = random_ids(50)
    reused = reused_from(model, ids, torch.arange(50))
    params = PipelineParams(retention=False, hd_fraction=0.2)

    out = selective_prefill(model, ids, reused, params, PhaseTimer(CPU))

    assert torch.allclose(out.logits, full_prefill(model, ids).logits, atol=1e-4)


def test_rerotation_moves_key_to_new_position():
    model = tiny_llama()
    attn = model.model.layers[0].self_attn
    hidden = torch.randn(1, 32)
    old, new = torch.tensor([5]), torch.tensor([17])
    _, key_old, _ = L.project_qkv(attn, hidden, *L.rope_tables(model, old, torch.float32))
    _, key_new, _ = L.project_qkv(attn, hidden, *L.rope_tables(model, new, torch.float32))

    moved = L.apply_rotation(key_old, *L.delta_rope_tables(model, new - old, torch.float32))

    assert torch.allclose(moved, key_new, atol=1e-5)


def test_partial_recompute_shrinks_with_depth():
    model = tiny_llama()
    n = 200
    ids = random_ids(n)
    reused = reused_from(model, random_ids(180, seed=3), torch.randint(0, 180, (n,)))
    params = PipelineParams(hd_fraction=0.4, recompute_decay=0.5, tail_tokens=4, retention=False)

    trace = selective_prefill(model, ids, reused, params, PhaseTimer(CPU)).trace

    counts = trace.recomputed.sum(dim=1).tolist()
    assert counts[0] == n
    assert counts[1] == recompute_budget(0, n, params)
    assert counts[2] == recompute_budget(1, n, params)
    assert trace.recomputed[:, -4:].all()
    # A token recomputed at layer i was recomputed at every layer below it.
    assert (trace.recomputed[1:] <= trace.recomputed[:-1]).all()


def test_recompute_fraction_counts_projected_tokens():
    model = tiny_llama()
    n = 120
    ids = random_ids(n)
    reused = reused_from(model, random_ids(100, seed=5), torch.randint(0, 100, (n,)))
    params = PipelineParams(hd_fraction=0.3, recompute_decay=0.7, retention=False)
    projected = []
    hooks = [block.self_attn.k_proj.register_forward_hook(
        lambda module, inputs, output: projected.append(inputs[0].shape[0]))
        for block in model.model.layers]

    trace = selective_prefill(model, ids, reused, params, PhaseTimer(CPU)).trace
    for hook in hooks:
        hook.remove()

    assert sum(projected) == int(trace.recomputed.sum())
    assert sum(projected) < n * len(model.model.layers)


def test_retention_keeps_budget_and_tail():
    model = tiny_llama()
    n = 100
    ids = random_ids(n)
    reused = reused_from(model, random_ids(90, seed=4), torch.randint(0, 90, (n,)))
    params = PipelineParams(retain_first=0.8, retain_decay=0.5, retain_min_tokens=10, tail_tokens=5)

    out = selective_prefill(model, ids, reused, params, PhaseTimer(CPU))

    for index, layer in enumerate(out.cache):
        assert layer.keys.shape[1] == retain_budget(index, n, params)
        assert set(range(n - 5, n)) <= set(layer.positions.tolist())
    assert out.trace.retained.sum(dim=1).tolist() == [layer.keys.shape[1] for layer in out.cache]


def test_pooled_retention_keeps_neighbours():
    received = torch.full((40,), 0.01)
    received[20] = 1.0          # one token draws the attention
    received[5] = 0.2           # a lone token that outscores each neighbour of the hot token
    is_tail = torch.zeros(40, dtype=torch.bool)
    params = PipelineParams(retain_first=5 / 40, retain_decay=1.0, retain_min_tokens=1)

    alone = choose_retained(0, received, is_tail, params.replace(retain_pooling=1)).tolist()
    spans = choose_retained(0, received, is_tail, params.replace(retain_pooling=5)).tolist()

    assert 20 in alone
    assert 5 in alone
    assert spans == [18, 19, 20, 21, 22]
    assert torch.allclose(pooled(received, 1), received)
    assert pooled(received, 3)[0] == pytest.approx((0.01 + 0.01) / 2)  # the edge averages what exists


def test_retention_pooling_must_be_odd():
    with pytest.raises(ValueError, match="retain_pooling"):
        PipelineParams(retain_pooling=4)


def test_engine_decode_matches_model_generate():
    model = tiny_llama()
    ids = random_ids(30)
    params = PipelineParams(recompute_all=True, retention=False, max_new_tokens=12)
    full = full_prefill(model, ids)
    engine = selective_prefill(model, ids, None, params, PhaseTimer(CPU))
    tokenizer = _StubDecoder()

    from_model = decode_from_model(model, tokenizer, full.past_key_values, full.logits, 30, params)
    from_engine = decode_from_layers(model, tokenizer, engine.cache, engine.logits, 30, params)
    expected = model.generate(ids[None], max_new_tokens=12, do_sample=False, eos_token_id=None,
                              pad_token_id=0)[0, 30:].tolist()

    assert from_model.token_ids == expected
    assert from_engine.token_ids == expected


class _StubDecoder:
    """Decodes ids to their numbers: the tiny model has no tokenizer, and only ids are compared."""

    eos_token_id = None

    def decode(self, ids, skip_special_tokens=False):
        return " ".join(str(i) for i in ids)


def test_mismatch_signal_recomputes_mismatched_tokens_first():
    # Target = reference with a few tokens changed; the changed tokens must all be recomputed at layer 1.
    model = tiny_llama()
    reference = random_ids(60)
    target = reference.clone()
    changed = torch.tensor([5, 17, 29, 41])
    target[changed] = (target[changed] + 7) % 96 + 3
    mismatched = torch.zeros(60, dtype=torch.bool)
    mismatched[changed] = True
    reused = ReusedCache(full_prefill(model, reference).kv, torch.arange(60), mismatched=mismatched)
    params = PipelineParams(retention=False, hd_fraction=0.25, recompute_signal="mismatch")

    out = selective_prefill(model, target, reused, params, PhaseTimer(CPU))

    assert out.trace.recomputed[1, changed].all()


def test_random_signal_differs_from_deviation_ranking():
    model = tiny_llama()
    target = random_ids(80, seed=3)
    reused = reused_from(model, random_ids(80, seed=4), torch.arange(80))
    ranked = PipelineParams(retention=False, hd_fraction=0.25)

    by_deviation = selective_prefill(model, target, reused, ranked, PhaseTimer(CPU))
    by_chance = selective_prefill(model, target, reused, ranked.replace(recompute_signal="random"), PhaseTimer(CPU))

    assert by_chance.trace.recomputed.sum() == by_deviation.trace.recomputed.sum()
    assert not torch.equal(by_chance.trace.recomputed, by_deviation.trace.recomputed)


@pytest.mark.parametrize("staircase_on", [True, False])
@pytest.mark.parametrize("n_queries", [1, 7, 31, 32, 33, 400])
def test_sorted_query_attention_equals_masked_attention(n_queries, staircase_on, monkeypatch):
    torch.manual_seed(n_queries)
    if not staircase_on:
        monkeypatch.setattr(staircase, "available", lambda q: False)
    attn = tiny_llama().model.layers[0].self_attn
    keys, values = torch.randn(2, 500, 8), torch.randn(2, 500, 8)
    positions = torch.arange(500)
    query_positions = torch.randperm(500)[:n_queries].sort().values
    q = torch.randn(4, n_queries, 8)
    assert staircase.available(q) == staircase_on

    out = L.attend(attn, q, keys, values, query_positions, positions)

    assert torch.allclose(out, _masked_attention(attn, q, keys, values, query_positions, positions), atol=1e-5)


def test_staircase_attention_over_keys_with_gaps():
    """Kept keys after eviction skip positions; each query must still see exactly the keys up to its own."""
    torch.manual_seed(0)
    attn = tiny_llama().model.layers[0].self_attn
    query_positions = torch.arange(300, 340)
    key_positions = torch.cat([torch.randperm(300)[:120].sort().values, query_positions])
    q, keys, values = torch.randn(4, 40, 8), torch.randn(2, 160, 8), torch.randn(2, 160, 8)

    out = L.attend(attn, q, keys, values, query_positions, key_positions)

    assert torch.allclose(out, _masked_attention(attn, q, keys, values, query_positions, key_positions), atol=1e-5)


def _masked_attention(attn, q, keys, values, query_positions, key_positions):
    """Return the reference result: one masked SDPA call over every key, then o_proj."""
    mask = key_positions[None, :] <= query_positions[:, None]
    return attn.o_proj(L._sdpa(attn, q, keys, values, mask, False))


def test_staircase_attention_with_strided_head_dim():
    """The CPU flash kernel assumes a last-dimension stride of 1, so other strides must be copied first."""
    torch.manual_seed(0)
    positions = torch.arange(200)
    query_positions = torch.arange(100, 200, 3)
    q = torch.randn(4, query_positions.numel(), 16)[..., ::2]
    keys, values = torch.randn(2, 200, 16)[..., ::2], torch.randn(2, 200, 16)[..., ::2]

    out = staircase.staircase_attention(q, keys, values, query_positions + 1, 0.3)

    mask = positions[None, :] <= query_positions[:, None]
    expected = torch.nn.functional.scaled_dot_product_attention(
        q[None], keys[None], values[None], attn_mask=mask, scale=0.3, enable_gqa=True)[0]
    assert torch.allclose(out, expected, atol=1e-5)


def test_attention_probs_match_softmax_of_expanded_keys():
    attn = tiny_llama(num_key_value_heads=2).model.layers[0].self_attn
    q, keys = torch.randn(4, 5, 8), torch.randn(2, 30, 8)
    query_positions, key_positions = torch.tensor([3, 9, 17, 25, 29]), torch.arange(30)

    probs = L.attention_probs(attn, q, keys, query_positions, key_positions)

    scores = q @ keys.repeat_interleave(2, dim=0).transpose(1, 2) * attn.scaling
    scores = scores.masked_fill(key_positions[None, None] > query_positions[None, :, None], float("-inf"))
    assert torch.allclose(probs, scores.softmax(dim=-1), atol=1e-6)


@pytest.mark.parametrize("outside_share, expected", [(0.0, 0.1), (0.25, 0.25), (0.9, 0.4)])
def test_adaptive_hd_fraction_follows_copied_spans(outside_share, expected):
    from semshare_core.pipeline import adapt_hd_fraction

    outside = torch.arange(100) < round(100 * outside_share)

    adapted = adapt_hd_fraction(PipelineParams(hd_fraction=0.4, hd_min_fraction=0.1), outside)

    assert adapted.hd_fraction == pytest.approx(expected)
    assert adapt_hd_fraction(PipelineParams(adaptive_hd=False), outside).hd_fraction == 0.4
