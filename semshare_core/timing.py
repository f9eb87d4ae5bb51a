"""Wall-clock timing of pipeline phases, synchronised with the GPU when one is used."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import contextmanager

import torch


@contextmanager
def _elapsed(device: torch.device, add_seconds):
    """Pass the block's elapsed seconds to `add_seconds`: CUDA events on a GPU, else the wall clock."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        try:
            yield
        finally:
            end.record()
            end.synchronize()
            add_seconds(start.elapsed_time(end) / 1000.0)
        return
    start_time = time.perf_counter()
    try:
        yield
    finally:
        add_seconds(time.perf_counter() - start_time)


class PhaseTimer:
    """Accumulate seconds per named phase; phases may be entered many times (once per layer)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str):
        def add(seconds: float) -> None:
            self.seconds[name] += seconds

        with _elapsed(self.device, add):
            yield

    def total(self) -> float:
        return float(sum(self.seconds.values()))

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in self.seconds.items()}


@contextmanager
def stopwatch(device: torch.device, into: dict, key: str):
    """Store the elapsed seconds of the block in `into[key]`."""
    with _elapsed(device, lambda seconds: into.__setitem__(key, seconds)):
        yield


class PeakMemory:
    """Sample this process's resident memory in a background thread and keep the peak.

    `ru_maxrss` only grows over a process's lifetime, so it cannot give the peak of one
    run inside a long-lived app. Sampling every `interval` seconds can miss short spikes.
    """

    def __init__(self, interval: float = 0.02):
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak_bytes = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_bytes = max(self.peak_bytes, self.process.memory_info().rss)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self.process.memory_info().rss)
