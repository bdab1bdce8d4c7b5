"""Locate the test-only tools .ci/install.sh provides; skip locally when missing, fail in CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".tools" / "node_modules"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(path: Path | None, what: str) -> Path:
    if path is None or not path.exists():
        message = f"{what} is not installed (run .ci/install.sh)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def node_module(name: str) -> Path:
    return require(NODE_MODULES / name, f"npm package {name}")


def executable(name: str) -> Path:
    found = shutil.which(name)
    return require(Path(found) if found else None, name)
