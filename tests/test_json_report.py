"""The JSON report contract: real reports validate against docs/json-report.schema.json."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from checker.inspect.elf_file import inspect_path
from checker.models import ElfFacts, Finding
from checker.policy import build_policy
from checker.run import check_paths
from tests.cli_run import REPO, run_cli

Get = Callable[[str], Path]

SCHEMA = json.loads((REPO / "docs" / "json-report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
DOC = (REPO / "docs" / "json-report.md").read_text(encoding="utf-8")

# The keys issue 2 names as the minimum contract.
FILE_KEYS = {"path", "status", "reason", "elf", "findings"}
ELF_KEYS = {
    "class",
    "endianness",
    "machine",
    "type",
    "interpreter",
    "linkage",
    "libc",
    "needed",
    "soname",
    "rpath",
    "runpath",
    "max_versions",
    "symbols",
    "min_kernel",
    "stripped",
}
FINDING_KEYS = {"rule", "severity", "message", "hint"}


def validate(report: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(report), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_schema_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.fixture(scope="module")
def varied_report(fixture: Get, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """Every status and ELF kind in one run: pass, fail, error, skipped (non-ELF, .o, debug-only), archive."""
    root = tmp_path_factory.mktemp("varied")
    for name in ("c_exp", "c_static_pie", "musl_dynamic", "go_nocgo", "zig_s390x", "zig_i386", "no_section_headers", "upx_pie"):
        shutil.copy(fixture(name), root / name)
    shutil.copy(fixture("lib_runpath"), root / "libfoo.so.1")
    shutil.copy(fixture("c_versions"), root / "c_versions")
    shutil.copy(fixture("script_sh"), root / "run.sh")
    (root / "broken").write_bytes(fixture("c_exp").read_bytes()[:2000])
    subprocess.run(["objcopy", "--only-keep-debug", str(fixture("c_dynamic")), str(root / "c_dynamic.debug")], check=True)
    subprocess.run(["gcc", "-c", "-o", str(root / "hello.o"), str(REPO / "tests" / "fixtures" / "src" / "hello.c")], check=True)
    with tarfile.open(root / "pkg.tar.gz", "w:gz") as tar:
        tar.add(fixture("c_pthread"), arcname="bin/app")
    out = root / "out" / "report.json"
    proc = run_cli(
        "--target", "centos7", "--allowed-needed", "libc.so.6", "--format", "json", "--output", f"json={out}", str(root), cwd=root
    )
    assert proc.returncode == 2
    report = json.loads(proc.stdout)
    assert json.loads(out.read_text(encoding="utf-8")) == report
    return report, root


def test_real_report_validates(varied_report: tuple[dict[str, Any], Path]) -> None:
    report, _ = varied_report
    validate(report)
    statuses = {f["status"] for f in report["files"]}
    assert statuses == {"pass", "fail", "error", "skipped"}
    assert report["summary"]["files"] == len(report["files"])
    assert sum(report["summary"][s] for s in ("pass", "fail", "error", "skipped")) == len(report["files"])
    assert report["summary"]["findings"] == sum(len(f["findings"]) for f in report["files"])


def test_contract_keys_are_present(varied_report: tuple[dict[str, Any], Path]) -> None:
    report, _ = varied_report
    assert report["schema_version"].startswith("1.") and report["verdict"] == "error"
    for f in report["files"]:
        assert set(f) >= FILE_KEYS
        if f["status"] in ("error", "skipped"):
            assert f["reason"]
        if f["elf"] is not None:
            assert set(f["elf"]) >= ELF_KEYS, f["path"]
        for finding in f["findings"]:
            assert set(finding) >= FINDING_KEYS
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert by_name["hello.o"]["status"] == "skipped" and by_name["hello.o"]["elf"]["type"] == "relocatable"
    assert by_name["c_dynamic.debug"]["elf"]["type"] == "debug-only"
    assert by_name["c_exp"]["elf"]["symbols"]["GLIBC_2.29"] == ["exp"]
    assert by_name["c_versions"]["elf"]["max_versions"]["ZLIB"] == "1.2.10"


def test_no_policy_report_validates(fixture: Get) -> None:
    report = json.loads(run_cli("--format", "json", str(fixture("c_dynamic"))).stdout)
    validate(report)
    assert report["verdict"] == "pass" and report["policy"]["target"] is None and report["notes"]


def test_empty_run_validates(tmp_path: Path) -> None:
    report = json.loads(run_cli("--allow-empty", "--format", "json", str(tmp_path / "*.so")).stdout)
    validate(report)
    assert report["files"] == [] and report["verdict"] == "pass"


def doc_example() -> dict[str, Any]:
    block = re.search(r"## Example.*?```json\n(.*?)\n```", DOC, re.S)
    assert block, "docs/json-report.md has no JSON example"
    return json.loads(block.group(1))


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Structural key paths, with list items and free-form maps (versions, symbols, ...) collapsed."""
    free_form = {"max_versions", "symbols", "version_needs", "details", "skipped_reasons"}
    out: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}"
            out.add(path)
            if k not in free_form:
                out |= key_paths(v, path)
    elif isinstance(value, list):
        for item in value:
            out |= key_paths(item, prefix + "[]")
    return out


def test_doc_example_is_a_real_report(varied_report: tuple[dict[str, Any], Path]) -> None:
    example = doc_example()
    validate(example)
    real = key_paths(varied_report[0])
    invented = key_paths(example) - real
    assert not invented, f"keys in the docs example that the tool does not produce: {sorted(invented)}"


def test_doc_describes_every_elf_key(varied_report: tuple[dict[str, Any], Path]) -> None:
    report, _ = varied_report
    elf_keys = {k for f in report["files"] if f["elf"] for k in f["elf"]}
    for key in elf_keys | FILE_KEYS | {"schema_version", "verdict", "summary", "policy", "notes"}:
        assert f"`{key}`" in DOC, f"docs/json-report.md does not describe `{key}`"


def test_inspector_keys_are_on_every_file_entry(fixture: Get, tmp_path: Path) -> None:
    """`packer`, `go` and `static_glibc_nss` are per-file keys: null when they do not apply, skipped and
    unreadable entries included, so a consumer can read them from any entry."""
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(9))  # truncated ELF header: an error entry
    names = ("c_dynamic", "text_file", "upx_pie", "go_nocgo", "c_static_nss")
    proc = run_cli("--format", "json", *(str(fixture(n)) for n in names), str(bad))
    entries = {Path(f["path"]).name: f for f in json.loads(proc.stdout)["files"]}
    assert entries["bad"]["status"] == "error" and entries["text_file"]["status"] == "skipped"
    for name, entry in entries.items():
        assert {"packer", "go", "static_glibc_nss"} <= set(entry), name
    assert entries["text_file"]["packer"] is None and entries["bad"]["go"] is None
    assert entries["upx_pie"]["packer"]["name"] == "upx" and entries["go_nocgo"]["go"]["version"].startswith("go")
    assert entries["c_static_nss"]["static_glibc_nss"] is True


def test_elf_entry_has_every_facts_field_in_order(fixture: Get) -> None:
    """ElfFacts.to_dict lists its keys by hand (speed): it must follow the dataclass fields."""
    facts = inspect_path(str(fixture("c_versions"))).facts
    assert facts is not None
    data = facts.to_dict()
    names = [f.name for f in dataclasses.fields(ElfFacts)]
    assert list(data) == ["class" if n == "elf_class" else n for n in names]
    assert data == {("class" if n == "elf_class" else n): getattr(facts, n) for n in names}


def test_finding_entry_has_every_finding_field(fixture: Get) -> None:
    """Finding.to_dict lists its keys by hand (speed): it must follow the dataclass fields."""
    report = check_paths([str(fixture("c_exp"))], build_policy({}, {"target": "centos7"}))
    findings = report.files[0].findings
    assert [f.rule for f in findings] == ["glibc-version"]
    data = findings[0].to_dict()
    assert data == {f.name: getattr(findings[0], f.name) for f in dataclasses.fields(Finding)}
    assert list(data) == [f.name for f in dataclasses.fields(Finding)]
