import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def embedded_bundle():
    """The embedded SmolLM2-135M-Instruct, loaded once per test session."""
    import semshare_core as ss
    return ss.load_model()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real paired texts not found at {SHARED_DATA}; they live beside the project, not in it")
    return SHARED_DATA
