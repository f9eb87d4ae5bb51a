import os
import sys
from pathlib import Path

import pytest

# Tests never reach a model hub: a hub id fails at once instead of waiting on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

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
        pytest.skip(f"optional real paired texts not found at {SHARED_DATA}: place the OneStopEnglish, "
                    "QMSum and Bible folders there (see docs/benchmarks.md) to run this test")
    return SHARED_DATA
