"""Wall-clock timing of pipeline phases, synchronised with the GPU when one is used."""

from __future__ import annotations

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
