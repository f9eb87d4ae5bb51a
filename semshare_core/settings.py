"""Operator settings: limits a server operator sets for the app's users.

Values come from environment variables and, optionally, from a TOML file named by
SEMSHARE_CONFIG. An environment variable overrides the same key in the file. The
library's `compare` does not read these settings: the app enforces them through the
helpers in `semshare_core.limits`, so that researchers calling the library are not limited.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .errors import SettingsError

CONFIG_VARIABLE = "SEMSHARE_CONFIG"


@dataclass(frozen=True)
class OperatorSettings:
    """Limits for app users. A limit of 0 turns that check off."""

    allowed_models: tuple[str, ...] | None = None  # glob patterns; None allows the embedded model and any hub id
    allow_local_models: bool = False               # whether local folder paths may be loaded
    memory_budget_mb: float = 8192.0               # estimated memory of one run, in MiB
    time_limit_s: float = 300.0                    # wall-clock seconds of one run, checked between phases
    max_prompt_tokens: int = 8192                  # tokens of each wrapped prompt
    max_upload_mb: float = 2.0                     # size of one uploaded text file, in MB (10**6 bytes)

    @property
    def memory_budget_bytes(self) -> int:
        return int(self.memory_budget_mb * 1024 ** 2)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)


# Setting name -> (environment variable, parser). The TOML file uses the setting names as keys.
def _variables() -> dict[str, tuple[str, Any]]:
    return {
        "allowed_models": ("SEMSHARE_ALLOWED_MODELS", _parse_models),
        "allow_local_models": ("SEMSHARE_ALLOW_LOCAL_MODELS", _parse_bool),
        "memory_budget_mb": ("SEMSHARE_MEMORY_BUDGET_MB", _parse_number),
        "time_limit_s": ("SEMSHARE_TIME_LIMIT_S", _parse_number),
        "max_prompt_tokens": ("SEMSHARE_MAX_PROMPT_TOKENS", _parse_token_limit),
        "max_upload_mb": ("SEMSHARE_MAX_UPLOAD_MB", _parse_upload),
    }


def load_settings(environ: Mapping[str, str] | None = None) -> OperatorSettings:
    """Read the operator settings. Raises SettingsError naming the variable or key at fault."""
    environ = os.environ if environ is None else environ
    raw: dict[str, tuple[str, Any]] = {}
    config_path = environ.get(CONFIG_VARIABLE, "").strip()
    if config_path:
        for key, value in _read_config(config_path).items():
            raw[key] = (f"{key} in {config_path}", value)

    for key, (variable, _) in _variables().items():
        value = environ.get(variable, "").strip()
        if value:
            raw[key] = (variable, value)

    parsers = _variables()
    values = {key: parsers[key][1](value, source) for key, (source, value) in raw.items()}
    return OperatorSettings(**values)


def _read_config(path: str) -> dict[str, Any]:
    try:
        with open(Path(path).expanduser(), "rb") as file:
            table = tomllib.load(file)
    except OSError as error:
        raise SettingsError(f"{CONFIG_VARIABLE}: could not read {path}: {error.strerror}.",
                            CONFIG_VARIABLE) from error
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{CONFIG_VARIABLE}: {path} is not valid TOML: {error}.", CONFIG_VARIABLE) from error

    unknown = sorted(set(table) - set(_variables()))
    if unknown:
        raise SettingsError(f"{CONFIG_VARIABLE}: unknown keys {unknown} in {path}. "
                            f"Known keys: {', '.join(_variables())}.", CONFIG_VARIABLE)
    return table


def _parse_models(value: Any, source: str) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise SettingsError(f"{source} must be a comma-separated string or a list of strings, got {value!r}.",
                            source)
    models = tuple(item.strip() for item in items if item.strip())
    if not models:
        raise SettingsError(f"{source} lists no model. Leave it unset to allow the embedded model "
                            "and any hub id.", source)
    return models


def _parse_bool(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{source} must be 1 or 0 (or true or false), got {value!r}.", source)


def _parse_number(value: Any, source: str) -> float:
    if isinstance(value, bool):
        raise SettingsError(f"{source} must be a number, got {value!r}.", source)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{source} must be a number, got {value!r}.", source) from None
    if not math.isfinite(number) or number < 0:
        raise SettingsError(f"{source} must be a finite number of at least 0, got {value!r}.", source)
    return number


def _parse_token_limit(value: Any, source: str) -> int:
    number = _parse_number(value, source)
    if number != int(number):
        raise SettingsError(f"{source} must be a whole number of tokens, got {value!r}.", source)
    return int(number)


def _parse_upload(value: Any, source: str) -> float:
    number = _parse_number(value, source)
    if number == 0:
        raise SettingsError(f"{source} must be more than 0 MB, got {value!r}.", source)
    return number
