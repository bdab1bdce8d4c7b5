"""--jobs and the fast report path: the same report, in the same order, however it is produced."""

from __future__ import annotations

import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.policy import policy_from_settings
from checker.report import json_report
from checker.run import RunOptions, check_paths
from tests.cli_run import run_cli

Get = Callable[[str], Path]

# Every kind of result: pass/fail ELF files of several classes and byte orders, a packed file,
# files without section headers, non-ELF files, a truncated ELF, an archive with members.
KINDS = (
    "c_exp",
    "c_static",
    "cxx_iostream",
    "musl_dynamic",
    "go_nocgo",
    "zig_s390x",
    "zig_i386",
    "no_section_headers",
    "upx_pie",
    "script_sh",
    "empty_file",
    "pe_stub",
    "text_file",
)


@pytest.fixture(scope="module")
def tree(fixture: Get, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Several copies of each kind, so files are cut into many chunks across the workers."""
    root = tmp_path_factory.mktemp("jobs")
    for copy in range(3):
        sub = root / f"d{copy}"
        sub.mkdir()
        for name in KINDS:
            shutil.copy(fixture(name), sub / name)
        (sub / "broken").write_bytes(fixture("c_exp").read_bytes()[:2000])
        with tarfile.open(sub / "pkg.tar.gz", "w:gz") as tar:
            tar.add(fixture("c_pthread"), arcname="bin/app")
            tar.add(fixture("script_sh"), arcname="bin/run.sh")
    return root


@pytest.mark.parametrize("fmt", ["json", "text", "sarif"])
def test_jobs_give_the_same_output(tree: Path, fmt: str) -> None:
    args = ["--target", "centos7", "--format", fmt, "--no-progress", str(tree)]
    one = run_cli(*args)
    several = run_cli("--jobs", "3", *args)
    auto = run_cli("--jobs", "auto", *args)
    assert one.returncode == 2  # the truncated ELF is an error
    assert several.returncode == auto.returncode == one.returncode
    assert several.stdout == auto.stdout == one.stdout
    if fmt == "json":
        report = json.loads(one.stdout)
        statuses = {f["status"] for f in report["files"]}
        assert statuses == {"pass", "fail", "error", "skipped"}
        assert any("archive_member" in f for f in report["files"])


def test_jobs_in_process_api_keeps_order(tree: Path) -> None:
    """check_paths with workers returns the same results, in discovery order, as without."""
    policy = policy_from_settings({"target": "centos7"}, None)
    serial = check_paths([str(tree)], policy, RunOptions())
    parallel = check_paths([str(tree)], policy, RunOptions(jobs=4))
    assert len(serial.files) > 4 * 8  # more candidates than one chunk per worker
    assert [f.path for f in parallel.files] == [f.path for f in serial.files]
    assert parallel.to_dict() == serial.to_dict()


@pytest.mark.parametrize("value", ["0", "-1", "two", ""])
def test_bad_jobs_value_is_a_usage_error(tree: Path, value: str) -> None:
    proc = run_cli("--jobs", value, str(tree))
    assert proc.returncode == 2
    assert "--jobs" in proc.stderr and "expected a whole number >= 1 or 'auto'" in proc.stderr


def test_json_layout_is_the_indented_document(tree: Path) -> None:
    """One line per file, the rest indented: parsing it gives json.dumps(indent=2)'s document exactly."""
    policy = policy_from_settings({"target": "centos7"}, None)
    data = check_paths([str(tree)], policy, RunOptions()).to_dict()
    text = json_report.dumps(data)
    assert json.dumps(json.loads(text), indent=2) == json.dumps(data, indent=2)
    assert list(json.loads(text)) == list(data)  # same key order
    lines = text.splitlines()
    entries = [line for line in lines if line.startswith('    {"path": ')]
    assert len(entries) == len(data["files"])
    for line, entry in zip(entries, data["files"], strict=True):
        assert json.loads(line.rstrip(",")) == entry
    assert text.isascii()  # non-ASCII escaped, as before


def test_json_layout_edge_cases() -> None:
    for data in ({}, {"files": []}, {"a": [], "files": [{"path": "caf\u00e9\udcff"}], "b": {"c": [1, None]}}):
        text = json_report.dumps(data)  # type: ignore[arg-type]
        assert json.loads(text) == data
        assert json.dumps(json.loads(text), indent=2) == json.dumps(data, indent=2)
