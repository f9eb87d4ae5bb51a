"""Reading user text: UTF-8 with or without a byte-order mark, UTF-16, or cp1252."""

from __future__ import annotations

from pathlib import Path

from .errors import InputDecodeError

MAX_TEXT_BYTES = 2_000_000


def decode_text(raw: bytes, name: str = "input", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Decode bytes as UTF-8 (BOM allowed), UTF-16 with a BOM, or cp1252; reject binary data."""
    if len(raw) > max_bytes:
        raise InputDecodeError(f"{name} has {len(raw):,} bytes; the limit is {max_bytes:,}.")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if b"\x00" in raw:
        raise InputDecodeError(f"{name} looks like binary data (it contains NUL bytes), not text.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as error:
        raise InputDecodeError(f"{name} is neither UTF-8 nor cp1252 text: {error}") from error


def read_text_file(path: Path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise InputDecodeError(f"Could not read {path}: {error.strerror}") from error
    return decode_text(raw, str(path))
