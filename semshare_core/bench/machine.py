"""Description of the machine and software a benchmark ran on."""

from __future__ import annotations

import os
import platform
from datetime import datetime, timezone
from pathlib import Path

import torch


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo, or the platform's processor string elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(device: str) -> dict:
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        # The vector instructions torch's kernels use ("AVX2", "AVX512"); timings differ between them.
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": device,
        # Other processes share the machine; their load stretches every timing.
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def describe(info: dict) -> str:
    """Format the date, CPU and its vector instructions, cores, torch threads, load at the end of the run and device as one line."""
    cpu = info["cpu"] + (f" ({info['cpu_capability']})" if info.get("cpu_capability") else "")
    text = (f"{info['date']}; {cpu}, {info['cores']} cores, torch {info['torch']} "
            f"with {info['torch_threads']} thread{'' if info['torch_threads'] == 1 else 's'}; device {info['device']}")
    if info.get("load_average") is not None:
        text += f"; 1-minute load average {info['load_average']:.1f} at the end"
    return text + (f" ({info['gpu']})" if "gpu" in info else "")
