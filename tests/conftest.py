"""Shared fixtures: the real designs in ../shared/data, skipped with a reason when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Root of the real CircuitNet / OpenROAD samples; tests using it skip when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real design data not found at {SHARED_DATA} (see the README's 'Test data')")
    return SHARED_DATA
