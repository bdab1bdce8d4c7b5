"""Shared helpers for the GitLab tests: readelf-derived expectations and workspace setup."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.readelf_truth import truth


def highest_glibc(path: Path) -> str:
    """The highest GLIBC_x.y version readelf lists among the file's undefined versioned symbols."""
    versions = [v.removeprefix("GLIBC_") for v in truth(path)["undefined_versioned"] if v.startswith("GLIBC_2")]
    return max(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def copy_binary(src: Path, dest_dir: Path, name: str | None = None) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / (name or src.name)
    shutil.copy2(src, dest)
    return dest


REPO = Path(__file__).resolve().parents[2]


def python_env(extra: dict[str, str] | None = None, *, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child Python that imports this checkout's `checker` (not another install)."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env
