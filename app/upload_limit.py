"""The upload size that Streamlit's file uploaders show and enforce, taken from the operator's limit."""

from __future__ import annotations

import math


def uploader_limit_mb(max_bytes: int) -> int | None:
    """Return the operator's upload limit in whole MB for `st.file_uploader(max_upload_size=...)`.

    Without it the uploader shows Streamlit's server-wide limit (200MB by default), which
    contradicts the limit the app enforces. The value is rounded up, because Streamlit takes
    whole MB; the app's own check still rejects files between the exact limit and the rounded
    one. A limit of 0 (check turned off) returns None, so the server-wide limit applies.
    """
    if max_bytes <= 0:
        return None
    return max(1, math.ceil(max_bytes / 1_000_000))
