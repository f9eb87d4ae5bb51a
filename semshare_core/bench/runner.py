"""Run benchmark parts, save each part's rows and rebuild the benchmark page."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from ..model import ModelBundle
from ..params import PipelineParams
from . import parts as part_functions
from .context import BenchContext, BenchOptions
from .machine import machine_info
from .report import write_page
from .store import load_parts, save_part

logger = logging.getLogger(__name__)

SMOKE_OPTIONS = BenchOptions(pairs=1, continuation_tokens=32, max_new_tokens=4)


def run_bench(bundle: ModelBundle, data: Path, output: Path, part_names: list[str], options: BenchOptions,
              params: PipelineParams, command: str, progress: Callable[[str], None]) -> Path:
    """Run the named parts ("smoke" included), save each under `output` and rewrite the page.

    Parts that are not run keep their saved results, so the page merges all of them.
    """
    context = BenchContext(bundle=bundle, data=data, options=options, params=params, progress=progress)
    for name in part_names:
        function = part_functions.smoke if name == "smoke" else part_functions.PARTS[name]
        progress(f"part {name}: starting")
        started = time.perf_counter()
        rows = function(context)
        record = {
            "part": name, "command": command, "machine": machine_info(str(bundle.device)),
            "model": bundle.name, "data": str(data), "seconds": time.perf_counter() - started,
            "options": vars(options), "params": params.to_dict(), "rows": rows,
        }
        path = save_part(output, name, record)
        progress(f"part {name}: {len(rows)} rows in {record['seconds']:.0f} s, saved {path}")
    return write_page(output, load_parts(output))
