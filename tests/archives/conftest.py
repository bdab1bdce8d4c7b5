"""Helpers for the archive tests: run a check in-process with a private TMPDIR we can inspect."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from checker.archives.limits import ArchiveLimits
from checker.models import FileResult, Report
from checker.policy import build_policy
from checker.run import RunOptions, check_paths

Check = Callable[..., Report]


@pytest.fixture
def scratch_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TMPDIR for the code under test; tests assert it is empty again afterwards."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    yield tmp


@pytest.fixture
def check(scratch_tmp: Path) -> Check:
    """check(paths, config={...}, cli={...}, **ArchiveLimits fields) -> Report; asserts the temp dir is left empty."""

    def run(paths: list[Path | str], config: dict[str, Any] | None = None, cli: dict[str, Any] | None = None, **limits: Any) -> Report:
        policy = build_policy(config or {}, cli or {})
        report = check_paths([str(p) for p in paths], policy, RunOptions(archives=ArchiveLimits(**limits)))
        assert list(scratch_tmp.iterdir()) == [], "temp files left behind"
        return report

    return run


def by_path(report: Report) -> dict[str, FileResult]:
    return {r.path: r for r in report.files}


def rules(result: FileResult) -> list[str]:
    return [f.rule for f in result.findings]
