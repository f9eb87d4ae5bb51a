"""The three observations: attention recovery, rank correlation and retention schedules."""

import math

import numpy as np
import pytest
import torch

from semshare_core.observations import (
    adjacent_rank_correlation, attention_recovery, decaying_schedule, mean_kept_share, received_attention,
    recovery_by_layer, retention_observation, retention_schedules)
from semshare_core.params import PipelineParams
from tiny import tiny_llama

N_LAYERS = 30


@pytest.mark.parametrize("n_tokens", [10, 100, 977])
def test_uniform_attention_needs_share_of_tokens(n_tokens):
    uniform = np.full(n_tokens, 1.0 / n_tokens)

    # round() first: 0.55 * 100 is 55.000000000000007 in floating point.
    assert attention_recovery(uniform, 0.55) == math.ceil(round(0.55 * n_tokens, 9))
    assert attention_recovery(uniform, 0.9) == math.ceil(round(0.9 * n_tokens, 9))
    assert attention_recovery(uniform, 1.0) == n_tokens


def test_one_hot_attention_needs_one_token():
    one_hot = np.zeros(500)
    one_hot[123] = 1.0

    assert attention_recovery(one_hot, 0.55) == 1
    assert attention_recovery(one_hot, 0.9) == 1


def test_recovery_counts_largest_first():
    received = np.array([0.05, 0.5, 0.05, 0.3, 0.1])

    assert attention_recovery(received, 0.5) == 1
    assert attention_recovery(received, 0.55) == 2
    assert attention_recovery(received, 0.9) == 3


def test_recovery_rejects_bad_input():
    with pytest.raises(ValueError, match="threshold"):
        attention_recovery(np.ones(4), 0.0)
    with pytest.raises(ValueError, match="positive"):
        attention_recovery(np.zeros(4), 0.5)


def test_rank_correlation_of_layers():
    first = np.arange(50, dtype=float)
    deviation = np.stack([first, 2 * first + 1, first[::-1], np.ones(50)])

    rhos = adjacent_rank_correlation(deviation)

    assert rhos.shape == (3,)
    assert rhos[0] == pytest.approx(1.0)
    assert rhos[1] == pytest.approx(-1.0)
    assert math.isnan(rhos[2])


def test_received_attention_rows_sum_to_one():
    model = tiny_llama()
    token_ids = torch.randint(3, 99, (80,), generator=torch.Generator().manual_seed(0))

    received = received_attention(model, token_ids, window=16)

    assert received.shape == (3, 80)
    np.testing.assert_allclose(received.sum(axis=1), 1.0, rtol=1e-5)
    assert (received >= 0).all()


def test_recovery_by_layer_within_bounds():
    model = tiny_llama()
    token_ids = torch.randint(3, 99, (80,), generator=torch.Generator().manual_seed(0))

    recovery = recovery_by_layer(model, token_ids, thresholds=(0.55, 0.9), window=16)

    assert recovery.counts.shape == (2, 3)
    assert (recovery.counts >= 1).all()
    assert (recovery.counts <= 80).all()
    assert (recovery.counts[0] <= recovery.counts[1]).all()
    assert recovery.to_dict()["shares"][1] == pytest.approx((recovery.counts[1] / 80).tolist())


def test_schedules_have_equal_totals():
    base = PipelineParams(retain_decay=0.96)

    schedules = retention_schedules(base, N_LAYERS)

    shares = {name: mean_kept_share(params, N_LAYERS) for name, params in schedules.items()}
    assert shares["growing"] == pytest.approx(shares["decaying"])
    assert shares["constant"] == pytest.approx(shares["decaying"], abs=2e-3)


@pytest.mark.parametrize("share", [0.3, 0.5, 0.7])
def test_decaying_schedule_hits_share(share):
    params = decaying_schedule(PipelineParams(), N_LAYERS, share)

    assert mean_kept_share(params, N_LAYERS) == pytest.approx(share, abs=2e-3)
    assert params.retain_decay < 1.0


def test_retention_observation_rows():
    model = tiny_llama()
    token_ids = torch.randint(3, 99, (120,), generator=torch.Generator().manual_seed(0))
    continuation = torch.randint(3, 99, (12,), generator=torch.Generator().manual_seed(1)).tolist()

    rows = retention_observation(model, token_ids, continuation, PipelineParams(retain_min_tokens=4),
                                 kept_shares=(0.5,))

    assert [row["schedule"] for row in rows] == ["none", "decaying", "constant", "growing",
                                                 "decaying", "constant", "growing"]
    assert rows[0]["kept_share"] == 1.0
    for row in rows[1:]:
        assert 0.0 < row["kept_share"] < 1.0
        assert row["perplexity"] > 1.0


@pytest.mark.slow
def test_observe_pair_on_embedded_model(embedded_bundle):
    from semshare_core.observations import observe_pair

    reference = ("The committee reviewed the budget on Tuesday and agreed to fund the new library. "
                 "Members said the old building was too small for the growing town. ") * 6
    target = ("On Tuesday the committee looked at the budget and decided to pay for a new library. "
              "Members said the old building had become too small for the town. ") * 6
    continuation = " Work on the new building is expected to start next spring."

    observed = observe_pair(embedded_bundle, reference, target, PipelineParams(similarity_threshold=0.0),
                            continuation=continuation)

    n_layers = embedded_bundle.n_layers
    assert observed["rank_correlation"].shape == (n_layers - 1,)
    assert np.nanmedian(observed["rank_correlation"]) > 0.5
    assert observed["recovery"].counts.shape == (2, n_layers)
    assert (observed["recovery"].counts[0] < observed["result"].n_target_tokens).all()
    assert {row["schedule"] for row in observed["retention"]} == {"none", "decaying", "constant", "growing"}


def test_report_section_states_agreement(tmp_path):
    from bench_records import compression_rows, observation_row, part_record
    from semshare_core.bench.report import write_page

    records = {"observations": part_record("observations", [observation_row("a"), observation_row("b", rho=0.5)]),
               "compression": part_record("compression", compression_rows())}

    page = write_page(tmp_path, records).read_text()

    assert "## The three observations" in page
    assert "## SnapKV and H2O at SemShareKV's KV budget" in page
    assert "agrees with the SemShareKV paper's 7-8B models on some pairs only" in page
    assert "the deeper half of the layers attends to fewer tokens" in page
    assert "lowest perplexity in 4 of 4" in page
    assert "persist across layers): the 135M model agrees in part (1 of 2 pairs" in page
    assert "attend to fewer tokens): the 135M model agrees (2 of 2 pairs" in page
    assert "more redundant): the 135M model agrees (4 of 4 (pair, total) cases" in page
    assert "| H2O | 1 |" in page
    for name in ("rank", "recovery", "retention"):
        assert (tmp_path / "img" / f"bench-observations-{name}.png").stat().st_size > 0


def test_report_section_states_disagreement(tmp_path):
    from bench_records import observation_row, part_record
    from semshare_core.bench.report import write_page

    records = {"observations": part_record("observations", [observation_row("a", rho=0.3, decaying_best=False)])}

    page = write_page(tmp_path, records).read_text()

    assert "does not reach the level of the 7-8B models" in page
    assert "lowest perplexity in 0 of 2" in page
    assert "more redundant): the 135M model does not agree (0 of 2" in page
    assert "does not agree with the SemShareKV paper's 7-8B models on observation 3" in page
