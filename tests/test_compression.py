"""SnapKV and H2O on a tiny random Llama, and on the embedded model at a short length."""

import pytest
import torch

from semshare_core.baseline import full_prefill
from semshare_core.compression import (
    METHODS, compressed_prefill, h2o_keep, semshare_budgets, snapkv_keep)
from semshare_core.params import PipelineParams
from semshare_core.perplexity import perplexity_from_layers, perplexity_from_model
from tiny import tiny_llama

N_TOKENS = 120
WINDOW = 32


@pytest.fixture(scope="module")
def model():
    return tiny_llama()


@pytest.fixture(scope="module")
def prompt():
    generator = torch.Generator().manual_seed(1)
    return torch.randint(3, 99, (N_TOKENS,), generator=generator)


@pytest.fixture(scope="module")
def continuation():
    generator = torch.Generator().manual_seed(2)
    return torch.randint(3, 99, (16,), generator=generator).tolist()


@pytest.mark.parametrize("method", METHODS)
def test_budget_is_exact_per_head(model, prompt, method):
    budgets = [N_TOKENS, 70, 40]

    compressed = compressed_prefill(model, prompt, method, budgets, window=WINDOW)

    for layer, budget in enumerate(budgets):
        kept = compressed.kept[layer]
        assert kept.shape == (2, budget), f"layer {layer}"
        assert compressed.cache[layer].keys.shape[1] == budget
        for head in range(kept.shape[0]):
            assert kept[head].unique().numel() == budget, f"layer {layer} head {head} keeps a token twice"


def test_snapkv_always_keeps_window(model, prompt):
    compressed = compressed_prefill(model, prompt, "snapkv", [60, 45, WINDOW + 1], window=WINDOW)

    window = set(range(N_TOKENS - WINDOW, N_TOKENS))
    for layer, kept in enumerate(compressed.kept):
        for head in range(kept.shape[0]):
            assert window <= set(kept[head].tolist()), f"layer {layer} head {head}"


def test_h2o_keeps_recent_half(model, prompt):
    compressed = compressed_prefill(model, prompt, "h2o", [60, 45, 30])

    for layer, (kept, budget) in enumerate(zip(compressed.kept, [60, 45, 30])):
        recent = set(range(N_TOKENS - budget // 2, N_TOKENS))
        for head in range(kept.shape[0]):
            assert recent <= set(kept[head].tolist()), f"layer {layer} head {head}"


def test_snapkv_picks_attended_tokens():
    scores = torch.zeros(1, 100)
    scores[0, 10] = 5.0
    scores[0, 50] = 4.0

    kept = snapkv_keep(scores, budget=WINDOW + 2, window=WINDOW, kernel=1)[0].tolist()

    assert 10 in kept
    assert 50 in kept
    assert len(kept) == WINDOW + 2


def test_h2o_picks_heavy_hitters():
    scores = torch.zeros(2, 100)
    scores[0, 3], scores[0, 20] = 9.0, 1.0
    scores[1, 7], scores[1, 60] = 9.0, 1.0
    scores[:, 99] = 50.0  # recent tokens are kept anyway, so their score must not take a heavy-hitter slot

    kept = h2o_keep(scores, budget=4)

    assert kept[0].tolist() == [3, 20, 98, 99]
    assert kept[1].tolist() == [7, 60, 98, 99]


def test_snapkv_budget_below_window_keeps_last():
    kept = snapkv_keep(torch.rand(2, 50), budget=10, window=WINDOW)

    assert kept.tolist() == [list(range(40, 50))] * 2


def test_snapkv_rejects_even_kernel():
    with pytest.raises(ValueError, match="odd"):
        snapkv_keep(torch.rand(1, 50), budget=40, window=8, kernel=6)


@pytest.mark.parametrize("method", METHODS)
def test_keeping_all_equals_full_prefill(model, prompt, continuation, method):
    full = full_prefill(model, prompt)
    expected = perplexity_from_model(model, full.past_key_values, full.logits, N_TOKENS, continuation)

    compressed = compressed_prefill(model, prompt, method, [N_TOKENS] * 3)
    measured = perplexity_from_layers(model, compressed.cache, compressed.logits, N_TOKENS, continuation)

    assert measured == pytest.approx(expected, rel=1e-4)
    assert torch.equal(compressed.logits, full.logits)


@pytest.mark.parametrize("method", METHODS)
def test_eviction_changes_perplexity(model, prompt, continuation, method):
    full = full_prefill(model, prompt)
    expected = perplexity_from_model(model, full.past_key_values, full.logits, N_TOKENS, continuation)

    compressed = compressed_prefill(model, prompt, method, [40, 40, 40])
    measured = perplexity_from_layers(model, compressed.cache, compressed.logits, N_TOKENS, continuation)

    assert measured != pytest.approx(expected, rel=1e-6)


def test_budgets_follow_semshare_retention():
    params = PipelineParams(retain_first=1.0, retain_decay=0.5, retain_min_tokens=4, tail_tokens=8)

    budgets = semshare_budgets(params, 3, 100)

    assert budgets == [100, 50, 25]
    assert semshare_budgets(params.replace(retention=False), 3, 100) == [100, 100, 100]
    assert semshare_budgets(params.replace(retain_decay=0.01), 3, 100)[2] == 8  # the tail is never evicted


def test_rejects_unknown_method(model, prompt):
    with pytest.raises(ValueError, match="method"):
        compressed_prefill(model, prompt, "pyramidkv", [N_TOKENS] * 3)


def test_rejects_wrong_budget_count(model, prompt):
    with pytest.raises(ValueError, match="budgets"):
        compressed_prefill(model, prompt, "snapkv", [N_TOKENS])


EMBEDDED_CONTINUATION = " The mayor promised a decision before the end of the month."


@pytest.fixture(scope="module")
def embedded_run(embedded_bundle):
    import semshare_core as ss

    text = ("The council met on Monday to discuss the new bridge. Engineers said the old one was unsafe "
            "and that repairs would cost more than a new structure. ") * 12
    return ss.compare(embedded_bundle, text, text, ss.PipelineParams(max_new_tokens=1),
                      continuation=EMBEDDED_CONTINUATION)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_embedded_model_at_semshare_budget(embedded_bundle, embedded_run, method):
    """The same KV bytes as SemShareKV's retention, and a perplexity near the full prefill's."""
    result = embedded_run
    continuation = EMBEDDED_CONTINUATION
    token_ids = torch.tensor(result.target.token_ids)
    continuation_ids = embedded_bundle.tokenizer.encode(continuation, add_special_tokens=False)

    budgets = semshare_budgets(result.params, embedded_bundle.n_layers, token_ids.numel())
    compressed = compressed_prefill(embedded_bundle.model, token_ids, method, budgets)
    perplexity = perplexity_from_layers(embedded_bundle.model, compressed.cache, compressed.logits,
                                        token_ids.numel(), continuation_ids)

    assert compressed.nbytes == result.kv_bytes_semshare
    assert compressed.nbytes < result.kv_bytes_full
    assert compressed.ttft_seconds > compressed.prefill_seconds
    assert 1.0 < perplexity < 2 * result.extras["perplexity_full"]
