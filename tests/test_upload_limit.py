"""The file uploaders' size limit follows the operator's max_upload_mb."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.upload_limit import uploader_limit_mb

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"


@pytest.mark.parametrize(("max_bytes", "expected"), [
    (2_000_000, 2),
    (2_500_000, 3),
    (1_000, 1),
    (0, None),
])
def test_uploader_limit_cases(max_bytes, expected):
    assert uploader_limit_mb(max_bytes) == expected


def test_explore_uploaders_show_operator_limit(monkeypatch):
    monkeypatch.setenv("SEMSHARE_MAX_UPLOAD_MB", "3")
    at = AppTest.from_file(str(APP_PATH), default_timeout=300).run()
    assert not at.exception, [item.value for item in at.exception]
    sizes = [uploader.proto.max_upload_size_mb for uploader in at.get("file_uploader")]
    assert sizes, "Explore shows no file uploader"
    assert set(sizes) == {3}, sizes
