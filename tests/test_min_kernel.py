"""Minimum kernel from NT_GNU_ABI_TAG against --min-kernel and the targets' kernels."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.cli import main
from checker.data_files import load
from checker.policy import build_policy
from checker.run import check_paths
from tests.readelf_truth import truth

Get = Callable[[str], Path]


@pytest.mark.parametrize("name", ["c_static", "c_dynamic", "c_static_pie", "c_abi_tag_high"])
def test_min_kernel_matches_readelf(fixture: Get, name: str) -> None:
    path = fixture(name)
    result = check_paths([str(path)], build_policy({}, {})).files[0]
    assert result.elf is not None and result.elf.min_kernel == truth(path)["abi_tag_kernel"]


def test_abi_tag_3_2_passes_every_target_kernel(fixture: Get) -> None:
    path = fixture("c_static")
    assert truth(path)["abi_tag_kernel"] == "3.2.0"
    for target in ("centos7", "rhel8", "debian10"):
        result = check_paths([str(path)], build_policy({}, {"target": target})).files[0]
        assert "kernel-version" not in {f.rule for f in result.findings}, target


def test_newer_abi_tag_fails_older_target_kernels(fixture: Get) -> None:
    path = fixture("c_abi_tag_high")
    need = truth(path)["abi_tag_kernel"]
    centos7 = load("targets.json")["targets"]["centos7"]
    result = check_paths([str(path)], build_policy({}, {"target": "centos7"})).files[0]
    (finding,) = [f for f in result.findings if f.rule == "kernel-version"]
    assert finding.severity == "error" and result.status == "fail"
    assert finding.message == f"needs Linux {need} or newer (ABI tag), the target has {centos7['kernel']}"
    assert "CentOS 7" in (result.not_on or []) and "RHEL 8" in (result.runs_on or [])
    rhel8 = check_paths([str(path)], build_policy({}, {"target": "rhel8"})).files[0]
    assert "kernel-version" not in {f.rule for f in rhel8.findings}


def test_min_kernel_flag(fixture: Get, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(fixture("c_abi_tag_high"))
    assert main(["--format", "json", "--min-kernel", "4.17", path]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["policy"]["min_kernel"] == "4.17"
    assert [f["rule"] for f in report["files"][0]["findings"]] == ["kernel-version"]
    assert main(["--format", "json", "--min-kernel", "4.18", path]) == 0
