"""Wall-clock timing of pipeline phases, synchronised with the GPU when one is used."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from contextlib import contextmanager

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class PhaseTimer:
    """Accumulate seconds per named phase; phases may be entered many times (once per layer)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str):
        synchronize(self.device)
        start = time.perf_counter()
        try:
            yield
        finally:
            synchronize(self.device)
            self.seconds[name] += time.perf_counter() - start

    def total(self) -> float:
        return float(sum(self.seconds.values()))

    def as_dict(self) -> dict[str, float]:
        return {name: float(value) for name, value in self.seconds.items()}


@contextmanager
def stopwatch(device: torch.device, into: dict, key: str):
    """Store the elapsed seconds of the block in `into[key]`."""
    synchronize(device)
    start = time.perf_counter()
    try:
        yield
    finally:
        synchronize(device)
        into[key] = time.perf_counter() - start


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
