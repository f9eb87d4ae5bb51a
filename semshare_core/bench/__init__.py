"""Benchmark harness: real paired texts, per-pair metrics, baselines and the benchmark page.

`python -m semshare_core bench` runs it; see `runner.run_bench`.
"""
