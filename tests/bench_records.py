"""Hand-made rows of the 'compression' and 'observations' benchmark parts, for page and report tests."""

from semshare_core.bench.machine import machine_info

N_LAYERS = 30


def observation_row(pair="meeting-a-b-1000", rho=0.95, decaying_best=True):
    """One pair's observations: rho `rho` between all adjacent layers, recovery falling with depth."""
    counts_55 = [max(40 - layer, 5) for layer in range(N_LAYERS)]
    counts_90 = [min(2 * count, 100) for count in counts_55]
    retention = [{"schedule": "none", "target_share": 1.0, "perplexity": 10.0, "kept_share": 1.0}]
    for share in (0.76, 0.5):
        perplexities = {"decaying": 10.5, "constant": 11.0, "growing": 11.5}
        if not decaying_best:
            perplexities["decaying"] = 12.0
        retention += [{"schedule": name, "target_share": share, "retain_decay": 0.98, "perplexity": value,
                       "kept_share": share} for name, value in perplexities.items()]
    return {
        "kind": "observations", "pair": pair, "pair_kind": "meeting", "n_target_tokens": 100,
        "perplexity_full": 10.0, "rank_correlation": [rho] * (N_LAYERS - 1),
        "recovery": {"thresholds": [0.55, 0.9], "counts": [counts_55, counts_90],
                     "shares": [[c / 100 for c in counts_55], [c / 100 for c in counts_90]],
                     "n_tokens": 100, "window": 32},
        "retention": retention,
    }


def compression_rows(pair="controlled-int-30-1000-0"):
    def row(method, ttft, kv_bytes, perplexity):
        return {"kind": "compression", "pair": pair, "method": method, "n_target_tokens": 1000,
                "ttft_seconds": ttft, "speedup": 2.0 / ttft, "kv_bytes": kv_bytes, "kv_megabytes": kv_bytes / 1e6,
                "kv_saving": 1 - kv_bytes / 100e6, "perplexity": perplexity, "perplexity_ratio": perplexity / 20.0,
                "first_step_kl": 0.0, "first_token_agree": True}
    return [row("full prefill", 2.0, 100e6, 20.0), row("SemShareKV (defaults)", 0.5, 76e6, 20.4),
            row("SnapKV", 2.1, 76e6, 20.6), row("H2O", 2.6, 76e6, 21.0)]


def run_row(pair="controlled-int-30-1000-0", speedup=4.0):
    """One SemShareKV run at the defaults, with the figures the summary table reads."""
    return {"kind": "run", "pair": pair, "setting": "SemShareKV (defaults)", "n_target_tokens": 1000,
            "speedup": speedup, "ideal_speedup": 5.0, "kv_saving": 0.42, "perplexity_ratio": 1.01,
            "first_step_kl": 0.001, "first_token_agree": True, "share": 0.3, "length": 1000}


def part_record(part, rows):
    return {"part": part, "command": f"python -m semshare_core bench --part {part}",
            "machine": machine_info("cpu"), "model": "tiny", "data": "data", "seconds": 60.0,
            "params": {"tail_tokens": 8}, "rows": rows}
