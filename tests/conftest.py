"""Shared pytest fixtures: real binaries built on demand (see tests/fixtures/build.py)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.build import FixtureUnavailable, build

# In CI every toolchain must be installed (.ci/install.sh), so a missing one is a failure.
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def fixture() -> Callable[[str], Path]:
    """Return `get(name) -> Path` for a built test binary; skips if its toolchain is missing."""

    def get(name: str) -> Path:
        try:
            return build(name)
        except FixtureUnavailable as e:
            if IN_CI:
                pytest.fail(f"fixture {name} unavailable in CI: {e}")
            pytest.skip(f"fixture {name} unavailable: {e}")

    return get
