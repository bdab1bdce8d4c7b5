"""bench/run.py's fact check (static-check JSON vs readelf) on a few fixtures, so the benchmark keeps working."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from tests.cli_run import REPO, run_cli

Get = Callable[[str], Path]


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "bench" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_fact_check_agrees_on_fixtures(fixture: Get, tmp_path: Path) -> None:
    bench = _bench()
    files = [str(fixture(n)) for n in ("c_dynamic", "cxx_iostream", "zig_s390x", "no_section_headers", "lib_runpath")]
    proc = run_cli("--format", "json", "--no-progress", *files)
    report = tmp_path / "report.json"
    report.write_text(proc.stdout)
    result = bench.check_facts(report, files, 2)
    assert result["compared"] == len(files) and not result["not_read"]
    assert result["mismatches"] == []
    assert result["versioned_symbols"] > 0


def test_bench_notices_a_wrong_fact(fixture: Get, tmp_path: Path) -> None:
    bench = _bench()
    path = str(fixture("c_dynamic"))
    proc = run_cli("--format", "json", "--no-progress", path)
    report = tmp_path / "report.json"
    report.write_text(proc.stdout.replace('"libc.so.6"', '"libc.so.7"'))
    assert bench.check_facts(report, [path], 1)["mismatches"]
