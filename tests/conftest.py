"""Shared test set-up: quiet TensorFlow, the repository on sys.path, data locations."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
ISBI = ROOT.parent / "shared" / "data" / "isbi2012-membrane"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_isbi() -> Path:
    """The shared ISBI folder, or a skip with the reason (a failure under CI=true)."""
    if not (ISBI / "train" / "image").is_dir():
        msg = f"the ISBI data folder is not at {ISBI}"
        if IN_CI:
            pytest.fail(msg + " (CI=true requires it)")
        pytest.skip(msg)
    return ISBI


@pytest.fixture
def isbi_dir() -> Path:
    return need_isbi()
