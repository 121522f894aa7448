"""Shared test configuration: hypothesis profiles and the real-data location."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# `HYPOTHESIS_PROFILE=thorough pytest` for a longer search; CI uses "ci".
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

REPO_ROOT = Path(__file__).resolve().parent.parent
# Shared test helpers (models_synthetic.py) live beside this file; importlib mode
# does not put test folders on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))


def shared_data_dir() -> Path:
    """Where the real datasets live: ``$XCAT_DATA_DIR`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("XCAT_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"real data not found at {path} (set XCAT_DATA_DIR to its location)")
    return path
