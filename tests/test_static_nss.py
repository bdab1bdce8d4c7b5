"""Static glibc programs that still dlopen NSS modules, and which libc a static program carries."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.inspect.elf_file import inspect_path
from checker.policy import build_policy
from checker.run import check_paths
from tests.readelf_truth import truth

Get = Callable[[str], Path]


def _nm_defined(path: Path) -> set[str]:
    """Names of symbols in .symtab per binutils nm (empty for stripped files)."""
    proc = subprocess.run(["nm", "--defined-only", str(path)], capture_output=True, text=True, check=False)
    return {line.split()[-1] for line in proc.stdout.splitlines() if line.strip()}


@pytest.mark.parametrize(
    "name, uses_nss",
    [
        ("c_static_nss", True),
        ("c_static_nss_stripped", True),
        ("go_cgo_static", True),
        ("c_static", False),
        ("c_static_stripped", False),
        ("c_static_pie", False),
    ],
)
def test_static_glibc_nss_flag(fixture: Get, name: str, uses_nss: bool) -> None:
    path = fixture(name)
    t = truth(path)
    assert t["interpreter"] is None and t["needed"] == []  # static, per readelf
    extra = inspect_path(str(path)).extra
    assert extra["static_glibc_nss"] is uses_nss
    assert bool(extra["static_glibc_nss_evidence"]) is uses_nss
    if uses_nss and t["has_symtab"]:
        nm = _nm_defined(path)
        listed = extra["static_glibc_nss_evidence"][0].split(": ", 1)[1].split(" and ")[0].split(", ")
        assert listed and set(listed) <= nm  # every symbol we name is really defined in the file
        assert "getaddrinfo" in listed
    if uses_nss and not t["has_symtab"]:
        assert extra["static_glibc_nss_evidence"] == ["NSS strings: 'libnss_%s.so%s', '_nss_%s_%s'"]


@pytest.mark.parametrize("name", ["c_dynamic", "musl_static", "go_nocgo", "go_netgo"])
def test_static_glibc_nss_is_null_for_other_files(fixture: Get, name: str) -> None:
    assert inspect_path(str(fixture(name))).extra["static_glibc_nss"] is None


def test_static_nss_finding_under_require_static(fixture: Get) -> None:
    paths = [str(fixture("c_static_nss_stripped")), str(fixture("c_static"))]
    report = check_paths(paths, build_policy({}, {"require-static": True}))
    nss, plain = report.files
    (finding,) = [f for f in nss.findings if f.rule == "static-nss"]
    assert finding.severity == "warning"
    assert "musl" in finding.hint and "getaddrinfo" in finding.hint
    assert nss.status == "pass"  # a warning does not fail unless --fail-on warning
    assert [f.rule for f in plain.findings] == []


def test_static_nss_severity_is_configurable_and_go_aware(fixture: Get) -> None:
    policy = build_policy({"severity": {"static-nss": "error"}}, {"require-static": True})
    result = check_paths([str(fixture("go_cgo_static"))], policy).files[0]
    (finding,) = [f for f in result.findings if f.rule == "static-nss"]
    assert finding.severity == "error" and result.status == "fail"
    assert "netgo,osusergo" in finding.hint


def test_static_nss_not_reported_without_require_static(fixture: Get) -> None:
    result = check_paths([str(fixture("c_static_nss"))], build_policy({}, {"max-glibc": "2.17"})).files[0]
    assert "static-nss" not in {f.rule for f in result.findings}
    assert result.extra["static_glibc_nss"] is True  # still in the JSON facts


@pytest.mark.parametrize(
    "name, libc, symbols",
    [
        ("c_static", "glibc", ("__libc_setup_tls", "_dl_relocate_static_pie")),
        ("go_cgo_static", "glibc", ("__libc_setup_tls", "_dl_relocate_static_pie")),
        ("musl_static", "musl", ("__init_libc", "__libc_start_init")),
        ("c_static_stripped", "glibc", ()),
    ],
)
def test_static_libc_flavour_with_evidence(fixture: Get, name: str, libc: str, symbols: tuple[str, ...]) -> None:
    path = fixture(name)
    facts = inspect_path(str(path)).facts
    assert facts is not None and facts.libc == libc
    if symbols:
        assert set(symbols) <= _nm_defined(path)
        assert f"static {libc} start-up code (symbols {', '.join(symbols)} in .symtab)" in facts.libc_evidence
    else:
        assert truth(path)["has_symtab"] is False
        assert any(e.startswith(f"static {libc} code (string ") for e in facts.libc_evidence)
