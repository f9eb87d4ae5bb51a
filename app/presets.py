"""Example prompt pairs read from `assets/presets/*.json`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"
REQUIRED_KEYS = ("name", "description", "reference", "target")


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    reference: str
    target: str


def load_presets(folder: Path | None = None) -> list[Preset]:
    """Read every valid preset in `folder` (default PRESET_DIR), sorted by file name.

    A missing folder gives an empty list. A file that is not valid JSON or lacks a
    required key is skipped with a logged warning, so one bad file does not hide the rest.
    """
    folder = PRESET_DIR if folder is None else folder
    if not folder.is_dir():
        return []
    presets = []
    for path in sorted(folder.glob("*.json")):
        preset = _read_preset(path)
        if preset is not None:
            presets.append(preset)
    return presets


def _read_preset(path: Path) -> Preset | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        logger.warning("Skipping preset %s: %s", path, error)
        return None
    if not isinstance(data, dict):
        logger.warning("Skipping preset %s: expected a JSON object", path)
        return None
    missing = [key for key in REQUIRED_KEYS if not isinstance(data.get(key), str)]
    if missing:
        logger.warning("Skipping preset %s: missing or non-string keys %s", path, missing)
        return None
    return Preset(**{key: data[key] for key in REQUIRED_KEYS})
