"""Per-part result files, so that parts run separately merge into one benchmark page."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS_FOLDER = "bench-results"


def save_part(output: Path, part: str, record: dict) -> Path:
    folder = output / RESULTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{part}.json"
    path.write_text(json.dumps(record, indent=1, default=_plain) + "\n", encoding="utf-8")
    return path


def load_parts(output: Path) -> dict[str, dict]:
    """Load every saved part under `output`, by part name."""
    folder = output / RESULTS_FOLDER
    records = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        records[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return records


def _plain(value):
    """JSON form of numpy scalars and tuples that json cannot write itself."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
