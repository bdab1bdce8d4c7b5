"""Policy evaluation on real binaries: findings name the exact cause, rule ids are stable."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checker.data_files import DATA_DIR
from checker.models import FileResult
from checker.policy import build_policy
from checker.run import RunOptions, check_paths
from tests.readelf_truth import truth

Get = Callable[[str], Path]

RULES = json.loads((DATA_DIR / "rules.json").read_text())["rules"]
TARGETS = json.loads((DATA_DIR / "targets.json").read_text())


def check(path: Path, fail_on: str = "error", **flags: Any) -> FileResult:
    cli = {k.replace("_", "-"): v for k, v in flags.items()}
    report = check_paths([str(path)], build_policy({}, cli), RunOptions(fail_on=fail_on))
    assert len(report.files) == 1
    return report.files[0]


def rules_of(result: FileResult) -> list[str]:
    return [f.rule for f in result.findings]


def test_every_finding_is_complete(fixture: Get) -> None:
    result = check(fixture("c_exp"), max_glibc="2.17", allowed_needed="libc.so.6", arch="aarch64", require_static=True)
    assert set(rules_of(result)) == {"glibc-version", "needed-not-allowed", "arch-not-allowed", "not-static"}
    for f in result.findings:
        assert f.rule in RULES and f.severity == RULES[f.rule]["severity"]
        assert f.message and f.hint and "\n" not in f.message


@pytest.mark.parametrize(
    ("name", "limit", "version", "symbol"),
    [
        ("c_fcntl", "2.27", "GLIBC_2.28", "fcntl64"),
        ("c_exp", "2.28", "GLIBC_2.29", "exp"),
        ("c_pthread", "2.33", "GLIBC_2.34", "pthread_create"),
        ("c_pthread", "2.33", "GLIBC_2.34", "__libc_start_main"),
        ("lib_tls", "2.2", "GLIBC_2.3", "__tls_get_addr"),
    ],
)
def test_glibc_limit_names_the_symbols(fixture: Get, name: str, limit: str, version: str, symbol: str) -> None:
    path = fixture(name)
    assert symbol in truth(path)["undefined_versioned"][version]
    result = check(path, max_glibc=limit)
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.rule == "glibc-version"
    assert f"{version} (" in finding.message and symbol in finding.message
    assert f"above the limit {limit}" in finding.message
    assert "zig cc -target x86_64-linux-gnu." + limit in finding.hint
    assert symbol in finding.details["versions"][version]


def test_glibc_limit_at_the_needed_version_passes(fixture: Get) -> None:
    assert check(fixture("c_exp"), max_glibc="2.34").status == "pass"
    assert check(fixture("zig_glibc217"), max_glibc="2.17").status == "pass"


def test_ld_linux_need_raises_the_floor(fixture: Get) -> None:
    result = check(fixture("c_rseq"), max_glibc="2.34")
    assert rules_of(result) == ["glibc-version"]
    assert "needs glibc 2.35" in result.findings[0].message
    assert "__rseq_size" in truth(fixture("c_rseq"))["version_bound"]["GLIBC_2.35"]
    assert "GLIBC_2.35 (__rseq_size)" in result.findings[0].message  # says which symbol needs it


def test_dt_relr_counts_as_glibc_2_36(fixture: Get) -> None:
    result = check(fixture("c_relr"), max_glibc="2.35")
    assert rules_of(result) == ["glibc-version"]
    assert "GLIBC_ABI_DT_RELR" in result.findings[0].message and "2.36" in result.findings[0].message
    assert check(fixture("c_relr"), max_glibc="2.36").status == "pass"
    assert "Debian 11" in (result.not_on or []) and "Debian 12" in (result.runs_on or [])


def test_cxx_limits(fixture: Get) -> None:
    path = fixture("cxx_iostream")
    result = check(path, max_version="GLIBCXX=3.4.19,CXXABI=1.3.7")
    needs = truth(path)["version_needs"]["libstdc++.so.6"]
    newer = [n for n in needs if n.startswith("GLIBCXX_") and tuple(map(int, n[8:].split("."))) > (3, 4, 19)]
    if not newer:
        pytest.skip("this g++ needs no GLIBCXX above 3.4.19")
    findings = {f.details["namespace"]: f for f in result.findings}
    assert findings["GLIBCXX"].rule == "symbol-version"
    assert all(n in findings["GLIBCXX"].message for n in newer[:1])
    assert "-static-libstdc++" in findings["GLIBCXX"].hint


@pytest.mark.parametrize(
    ("limit", "fails", "culprit"),
    [
        ("ZLIB=1.2.9", True, "z_new"),  # 1.2.10 > 1.2.9 numerically (string order says otherwise)
        ("ZLIB=1.2.10", False, None),
        ("VERS=2.9", True, "v210"),
        ("VERS=2.10", False, None),
        ("OPENSSL=3.0", False, None),  # 3.0 == 3.0.0
        ("OPENSSL=1.1.1", True, "ossl_init"),
        ("PNG16=0", False, None),
    ],
)
def test_other_namespaces_compare_numerically(fixture: Get, limit: str, fails: bool, culprit: str | None) -> None:
    result = check(fixture("c_versions"), max_version=limit)
    assert (result.status == "fail") is fails
    if culprit:
        assert rules_of(result) == ["symbol-version"] and culprit in result.findings[0].message


def test_private_versions(fixture: Get) -> None:
    """VERS_PRIVATE is reported as a fact, not as a glibc-private finding."""
    result = check(fixture("c_versions"), max_glibc="2.39")
    assert "VERS_PRIVATE" in result.elf.nonnumeric_versions  # type: ignore[union-attr]
    assert "glibc-private" not in rules_of(result)


def test_glibc_private_warns(fixture: Get) -> None:
    result = check(fixture("c_private"), max_glibc="2.36")
    (finding,) = result.findings
    assert (finding.rule, finding.severity, result.status) == ("glibc-private", "warning", "pass")
    assert "GLIBC_PRIVATE" in finding.message
    assert check(fixture("c_private"), fail_on="warning", max_glibc="2.36").status == "fail"
    assert check(fixture("c_private")).findings == []  # facts only without a policy


def test_core_dump_is_skipped_with_facts(fixture: Get, tmp_path: Path) -> None:
    from tests.elf_edit import Elf

    elf = Elf(bytearray(fixture("c_static").read_bytes()))
    elf.set_header("e_type", 4)
    (tmp_path / "core").write_bytes(bytes(elf.data))
    result = check(tmp_path / "core", require_static=True)
    assert result.status == "skipped" and result.reason == "core dump: not a program or library"
    assert result.elf is not None and result.elf.type == "core"


@pytest.mark.parametrize(
    ("name", "passes"),
    [
        ("c_static", True),
        ("c_static_pie", True),
        ("musl_static", True),
        ("go_nocgo", True),
        ("zig_aarch64_musl", True),
        ("c_dynamic", False),
        ("musl_dynamic", False),
        ("go_cgo", False),
    ],
)
def test_require_static(fixture: Get, name: str, passes: bool) -> None:
    result = check(fixture(name), require_static=True)
    assert (result.status == "pass") is passes
    if not passes:
        # go_cgo also gets the info-level go-cgo hint (tests/test_goinfo.py)
        assert [f.rule for f in result.findings if f.severity != "info"] == ["not-static"]
        assert truth(fixture(name))["interpreter"] in result.findings[0].message


def test_require_static_on_a_library_hints_at_overrides(fixture: Get) -> None:
    result = check(fixture("lib_runpath"), require_static=True)
    assert rules_of(result) == ["not-static"] and "overrides" in result.findings[0].hint


def test_allowed_needed_globs(fixture: Get) -> None:
    path = fixture("c_exp")
    result = check(path, allowed_needed="libc.so.6")
    assert rules_of(result) == ["needed-not-allowed"]
    assert result.findings[0].details["libraries"] == ["libm.so.6"] and "libm.so.6" in result.findings[0].message
    assert check(path, allowed_needed="libc.so.6, libm.so.*").status == "pass"
    assert check(path, allowed_needed="lib*").status == "pass"


@pytest.mark.parametrize(
    ("name", "arch", "passes"),
    [
        ("aarch64_gcc", "x86_64", False),
        ("aarch64_gcc", "x86_64,aarch64", True),
        ("zig_s390x", "x86_64", False),
        ("zig_riscv64", "riscv64", True),
        ("zig_i386", "i386", True),
        ("c_dynamic", "X86_64", True),
    ],
)
def test_arch(fixture: Get, name: str, arch: str, passes: bool) -> None:
    result = check(fixture(name), arch=arch)
    assert (result.status == "pass") is passes
    if not passes:
        assert rules_of(result) == ["arch-not-allowed"] and result.elf.machine in result.findings[0].message  # type: ignore[union-attr]


def test_forbid_rpath(fixture: Get) -> None:
    result = check(fixture("c_rpath_abs"), forbid_rpath=True)
    assert rules_of(result) == ["rpath"] and "/opt/vendor/lib" in result.findings[0].message
    assert check(fixture("lib_runpath"), forbid_rpath=True).status == "pass"  # $ORIGIN is relocatable


def all_target_names() -> list[str]:
    names = []
    for tid, data in TARGETS["targets"].items():
        names += [tid, *data.get("aliases", [])]
    return names


@pytest.mark.parametrize("target", all_target_names())
def test_every_target_preset_resolves(fixture: Get, target: str) -> None:
    result = check(fixture("c_static"), target=target)
    assert result.status == "pass", result.findings  # a static binary runs everywhere


@pytest.mark.parametrize(
    ("target", "name", "passes", "rule"),
    [
        ("centos7", "c_dynamic", False, "glibc-version"),
        ("centos7", "zig_glibc217", True, None),
        ("rhel9", "c_pthread", True, None),
        ("rhel8", "c_pthread", False, "glibc-version"),
        ("manylinux2014", "cxx_iostream", False, "glibc-version"),
        ("alpine", "c_dynamic", False, "libc-mismatch"),
        ("alpine", "musl_dynamic", True, None),
        ("alpine", "c_static", True, None),
        ("debian12", "musl_dynamic", False, "libc-mismatch"),
    ],
)
def test_targets(fixture: Get, target: str, name: str, passes: bool, rule: str | None) -> None:
    result = check(fixture(name), target=target)
    assert (result.status == "pass") is passes, result.findings
    if rule:
        assert rule in rules_of(result)


def test_distro_lines_follow_the_glibc_table(fixture: Get) -> None:
    path = fixture("c_pthread")
    need = max(
        tuple(map(int, n[6:].split(".")))
        for names in truth(path)["version_needs"].values()
        for n in names
        if re.fullmatch(r"GLIBC_[\d.]+", n)
    )
    result = check(path)
    for family in TARGETS["families"]:
        for tid in family["releases"]:
            data = TARGETS["targets"][tid]
            fits = tuple(map(int, data["glibc"].split("."))) >= need
            assert (data["display"] in (result.runs_on or [])) is fits
            assert (data["display"] in (result.not_on or [])) is not fits
    line = result.extra["portability"]
    assert line.startswith("runs on: ") and "Debian 12+" in line and "RHEL 9+" in line
    assert "not on: " in line and "CentOS 7" in line and "Debian 11" in line


def test_musl_runs_only_on_alpine(fixture: Get) -> None:
    result = check(fixture("musl_dynamic"))
    assert result.runs_on == ["Alpine Linux"] and "Debian 12" in (result.not_on or [])


def test_distro_support_does_not_depend_on_file_order(fixture: Get) -> None:
    """A loader neither glibc's nor musl's runs nowhere; a library with no loader and no version need runs
    everywhere: whichever of the two is checked first (the distro answer is cached per set of facts)."""
    foreign, lib = fixture("c_foreign_interp"), fixture("lib_versions")
    assert truth(foreign)["interpreter"] and not truth(lib)["interpreter"] and not truth(lib)["version_needs"]
    for order in ([foreign, lib], [lib, foreign]):
        report = check_paths([str(p) for p in order], build_policy({}, {}), RunOptions())
        by_name = {Path(r.path).name: r for r in report.files}
        assert by_name[foreign.name].elf.libc == by_name[lib.name].elf.libc == "unknown"  # type: ignore[union-attr]
        assert by_name[foreign.name].runs_on == [] and by_name[foreign.name].not_on, order
        assert by_name[lib.name].not_on == [] and by_name[lib.name].runs_on, order


def test_no_policy_passes_with_a_note(fixture: Get) -> None:
    report = check_paths([str(fixture("c_pthread"))], build_policy({}, {}), RunOptions())
    assert report.verdict == "pass" and report.files[0].findings == []
    assert any("no limit was set" in n for n in report.notes)


def test_severity_and_ignore(fixture: Get) -> None:
    path = fixture("c_dynamic")
    policy = build_policy({"require-static": True, "severity": {"not-static": "warning"}}, {})
    report = check_paths([str(path)], policy, RunOptions())
    assert report.files[0].status == "pass" and report.files[0].findings[0].severity == "warning"
    report = check_paths([str(path)], policy, RunOptions(fail_on="warning"))
    assert report.files[0].status == "fail"
    policy = build_policy({"require-static": True, "ignore": ["not-static"]}, {})
    assert check_paths([str(path)], policy, RunOptions()).files[0].findings == []


def test_non_programs_are_skipped_with_facts(fixture: Get, tmp_path: Path) -> None:
    import shutil
    import subprocess

    obj = tmp_path / "hello.o"
    subprocess.run(["gcc", "-c", "-o", str(obj), str(Path(__file__).parent / "fixtures" / "src" / "hello.c")], check=True)
    shutil.copy(fixture("script_sh"), tmp_path / "run.sh")
    report = check_paths([str(tmp_path)], build_policy({}, {"require-static": True}), RunOptions())
    by_name = {Path(r.path).name: r for r in report.files}
    assert by_name["hello.o"].status == "skipped" and by_name["hello.o"].elf is not None
    assert "relocatable" in (by_name["hello.o"].reason or "")
    assert by_name["run.sh"].status == "skipped" and by_name["run.sh"].reason == "shell script"


CORE_RULES = {
    "glibc-version": "error",
    "symbol-version": "error",
    "glibc-private": "warning",
    "not-static": "error",
    "needed-not-allowed": "error",
    "arch-not-allowed": "error",
    "libc-mismatch": "error",
    "rpath": "error",
    "kernel-version": "error",
}


def test_core_rule_ids_are_stable() -> None:
    """Rule ids are a public contract: these exist forever with their default severity."""
    for rule, severity in CORE_RULES.items():
        assert RULES[rule]["severity"] == severity
        assert RULES[rule]["title"] and RULES[rule]["help"]
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule) for rule in RULES)


def test_targets_table_is_consistent() -> None:
    targets = TARGETS["targets"]
    assert "pep600_compliance" in TARGETS["_comment"]  # the table names its sources
    names = [n for tid, t in targets.items() for n in (tid, *t.get("aliases", []))]
    assert len(names) == len(set(names)), "an alias or id is used twice"
    for tid, t in targets.items():
        assert t["libc"] in ("glibc", "musl") and t["display"]
        if t["libc"] == "glibc":
            assert re.fullmatch(r"2\.\d+", t["glibc"]), tid
    for family in TARGETS["families"]:
        releases = [targets[tid] for tid in family["releases"]]
        glibcs = [tuple(map(int, t["glibc"].split("."))) for t in releases]
        assert glibcs == sorted(glibcs), f"{family['name']} releases must be oldest first"


@pytest.mark.parametrize("name", ["zig_riscv64", "zig_s390x", "aarch64_gcc", "zig_i386"])
def test_distro_lines_leave_out_releases_without_the_architecture(fixture: Get, name: str) -> None:
    """A riscv64 program whose glibc need is met by RHEL 8 still does not run there: RHEL has no riscv64 port."""
    path = fixture(name)
    t = truth(path)
    machine = {("RISC-V", 64): "riscv64", ("IBM S/390", 64): "s390x", ("AArch64", 64): "aarch64", ("Intel 80386", 32): "i386"}
    arch = machine[(t["machine"], t["class"])]
    need = max(
        (tuple(map(int, n[6:].split("."))) for names in t["version_needs"].values() for n in names if re.fullmatch(r"GLIBC_[\d.]+", n)),
        default=(0,),
    )
    result = check(path)
    for family in TARGETS["families"]:
        for tid in family["releases"]:
            data = TARGETS["targets"][tid]
            fits = arch in data["arches"] and tuple(map(int, data["glibc"].split("."))) >= need
            assert (data["display"] in (result.runs_on or [])) is fits, data["display"]
    if arch == "riscv64":
        assert "RHEL 8" in (result.not_on or []) and "Ubuntu 20.04" in (result.runs_on or [])
    if arch == "s390x":
        assert "Amazon Linux 2" in (result.not_on or []) and "RHEL 8" in (result.runs_on or [])


def test_every_distro_names_its_architectures() -> None:
    for family in TARGETS["families"]:
        for tid in family["releases"]:
            arches = TARGETS["targets"][tid]["arches"]
            assert "x86_64" in arches and "aarch64" in arches, tid
    assert "riscv64" not in TARGETS["targets"]["rhel9"]["arches"] and "riscv64" in TARGETS["targets"]["debian13"]["arches"]
    for tid in TARGETS["targets"]:  # every preset's arches are machine names the policy accepts
        build_policy({}, {"target": tid})


@pytest.mark.parametrize(
    ("name", "target", "status"),
    [
        ("zig_riscv64", "centos7", "fail"),  # no riscv64 port: the arch's glibc baseline must not turn this into a pass
        ("zig_riscv64", "rhel9", "fail"),
        ("zig_riscv64", "ubuntu20.04", "pass"),
        ("zig_s390x", "al2023", "fail"),
        ("zig_s390x", "rhel8", "pass"),
        ("aarch64_gcc", "al2023", "pass"),
    ],
)
def test_target_preset_knows_its_architectures(fixture: Get, name: str, target: str, status: str) -> None:
    path = fixture(name)
    machine = {"RISC-V": "riscv64", "IBM S/390": "s390x", "AArch64": "aarch64"}[truth(path)["machine"]]
    result = check(path, target=target)
    assert result.status == status
    rules = [f.rule for f in result.findings]
    assert ("arch-not-allowed" in rules) is (machine not in TARGETS["targets"][target]["arches"])
    if status == "fail":
        assert result.findings[0].message.startswith(f"built for {machine}, allowed: x86_64")


def test_explicit_arch_overrides_the_target_preset(fixture: Get) -> None:
    assert check(fixture("zig_riscv64"), target="centos7", arch="riscv64").status == "pass"


def test_glibc_limit_fails_a_musl_dynamic_program(fixture: Get) -> None:
    """--max-glibc says the targets are glibc systems; they have no musl loader, so a musl-linked program
    with no GLIBC_ needs at all must not pass it. Static musl runs anywhere and still passes."""
    path = fixture("musl_dynamic")
    t = truth(path)
    assert t["interpreter"].startswith("/lib/ld-musl-") and not any(n.startswith("GLIBC_") for v in t["version_needs"].values() for n in v)
    result = check(path, max_glibc="2.17")
    assert rules_of(result) == ["libc-mismatch"] and result.status == "fail"
    assert t["interpreter"] in result.findings[0].message and "glibc" in result.findings[0].message
    assert check(fixture("musl_static"), max_glibc="2.17").status == "pass"
    assert check(path, max_glibc="2.17", libc="any").status == "pass"  # an explicit choice wins


def test_zig_targets_in_hints_are_ones_zig_knows() -> None:
    """Every triple a glibc-version hint suggests is in `zig targets`' libc list (zig itself is the oracle)."""
    proc = subprocess.run([sys.executable, "-m", "ziglang", "targets"], capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        pytest.skip("zig (PyPI ziglang) is not installed")
    libc_block = proc.stdout.split(".libc = .{", 1)[1].split("}", 1)[0]
    known = set(re.findall(r'"([^"]+)"', libc_block))
    table = json.loads((DATA_DIR / "machines.json").read_text())["zig_glibc_target"]
    assert table and set(table.values()) <= known
    assert table["i386"] == "x86-linux-gnu" and "ppc64" not in table  # zig has no big-endian ppc64 glibc


def test_glibc_hint_uses_zigs_name_for_the_machine(fixture: Get) -> None:
    assert truth(fixture("aarch64_gcc"))["machine"] == "AArch64"
    assert "`zig cc -target aarch64-linux-gnu.2.17`" in check(fixture("aarch64_gcc"), max_glibc="2.17").findings[0].hint
    assert "`zig cc -target x86_64-linux-gnu.2.17`" in check(fixture("c_exp"), max_glibc="2.17").findings[0].hint


def test_glibc_hint_names_the_manylinux2014_image_only_for_machines_it_exists_for(fixture: Get) -> None:
    """pypa publishes no manylinux2014 image for riscv64: the hint must not send users to one."""
    path = fixture("zig_riscv64_glibc234")
    assert "GLIBC_2.34" in truth(path)["version_needs"]["libc.so.6"]
    hint = check(path, max_glibc="2.31").findings[0].hint
    assert "manylinux2014" not in hint
    assert "(e.g. a distro with glibc 2.31)" in hint and "`zig cc -target riscv64-linux-gnu.2.31`" in hint
    assert "(e.g. manylinux2014 or a distro with glibc 2.17)" in check(fixture("c_exp"), max_glibc="2.17").findings[0].hint


def test_highest_glibc_line_names_dt_relr_when_it_sets_the_floor(fixture: Get) -> None:
    """c_relr needs GLIBC_2.34 symbols but GLIBC_ABI_DT_RELR (glibc 2.36): the 'highest' column must not say 2.34 alone."""
    from checker.report import markdown

    path = fixture("c_relr")
    assert "GLIBC_ABI_DT_RELR" in truth(path)["version_needs"]["libc.so.6"]
    report = check_paths([str(path)], build_policy({}, {}), RunOptions())
    row = next(line for line in markdown.render(report).splitlines() if "c_relr" in line)
    assert "GLIBC_ABI_DT_RELR (glibc 2.36+); GLIBC_2.34: __libc_start_main" in row


def test_a_loader_other_than_glibcs_or_musls_is_not_called_glibc(fixture: Get) -> None:
    """A program asking for FreeBSD's /libexec/ld-elf.so.1 has no GLIBC_ needs to fail on; it must not pass a
    glibc target or "run on" any Linux distro just because it names some loader."""
    path = fixture("c_foreign_interp")
    t = truth(path)
    assert t["interpreter"] == "/libexec/ld-elf.so.1" and t["needed"] == [] and t["version_needs"] == {}
    result = check(path, target="centos7")
    assert result.elf is not None and result.elf.libc == "unknown"
    assert any("/libexec/ld-elf.so.1" in e for e in result.elf.libc_evidence)
    assert result.status == "fail" and rules_of(result) == ["libc-mismatch"]
    assert "/libexec/ld-elf.so.1" in result.findings[0].message
    assert result.runs_on == [] and "CentOS 7" in (result.not_on or [])
    for name in ("go_pie", "zig_s390x", "zig_riscv64", "zig_i386", "aarch64_gcc"):  # every Linux glibc loader is still glibc's
        assert check(fixture(name)).elf.libc == "glibc", name  # type: ignore[union-attr]
