"""UPX-packed programs: detection from the file, unpacking a private copy, verdicts on the program inside.

Expected packer facts come from `upx -l`, `upx -t` and `upx --fileinfo` (they read the
file, never run it); expected ELF facts of the program inside come from readelf on the
original fixture the packed one was made from.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.inspect import upx
from checker.inspect.elf_file import inspect_path
from checker.policy import build_policy
from checker.run import check_paths
from tests.readelf_truth import truth

Get = Callable[[str], Path]
REPO = Path(__file__).resolve().parent.parent
PACKED = {"upx_pie": "c_dynamic", "upx_nopie": "c_nopie", "upx_static": "c_static", "upx_go": "go_nocgo", "upx_aarch64": "aarch64_gcc"}


def _upx(*args: str | Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("upx")
    if exe is None:
        pytest.skip("upx is not installed")
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, check=False)


def _upx_release() -> str:
    return _upx("--version").stdout.split()[1]  # "upx 4.2.2"


def _upx_list(path: Path) -> tuple[int, int]:
    """(unpacked size, packed size) from the table `upx -l` prints."""
    line = next(ln for ln in _upx("-l", path).stdout.splitlines() if "->" in ln)
    before, after = line.split("->")
    return int(before.split()[-1]), int(after.split()[0])


def _upx_fileinfo(path: Path) -> tuple[int, int, int]:
    """(pack header version, method, level) from `upx --fileinfo`."""
    match = re.search(r"compressed by UPX (\d+), method (\d+), level (\d+)", _upx("--fileinfo", path).stdout)
    assert match, "upx --fileinfo printed no pack header line"
    return int(match[1]), int(match[2]), int(match[3])


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "checker", *args], capture_output=True, text=True, cwd=REPO, env=env, check=False)


@pytest.mark.parametrize("name", sorted(PACKED))
def test_packer_header_agrees_with_upx(fixture: Get, name: str) -> None:
    path = fixture(name)
    packer = inspect_path(str(path)).extra["packer"]
    unpacked_size, packed_size = _upx_list(path)
    header_version, method, level = _upx_fileinfo(path)
    assert packed_size == path.stat().st_size
    assert packer["name"] == "upx"
    assert packer["version"] == _upx_release()  # the fixtures are packed by the installed upx
    assert (packer["header_version"], packer["method"], packer["level"]) == (header_version, method, level)
    assert packer["unpacked_size"] == unpacked_size


@pytest.mark.parametrize("name", ["upx_pie", "upx_static", "c_dynamic", "c_static", "go_nocgo"])
def test_detection_agrees_with_upx_test(fixture: Get, name: str) -> None:
    path = fixture(name)
    packed_per_upx = _upx("-t", path).returncode == 0
    assert (inspect_path(str(path)).extra["packer"] is not None) == packed_per_upx


@pytest.mark.parametrize("name", sorted(PACKED))
def test_unpacked_program_is_the_original(fixture: Get, name: str) -> None:
    packed, original = fixture(name), fixture(PACKED[name])
    outer, inner = truth(packed), truth(original)
    # What `file` and `ldd` see: a loader stub without interpreter or libraries.
    assert outer["interpreter"] is None and outer["needed"] == []
    unpacked = inspect_path(str(packed)).extra["packer"]["unpacked"]
    assert unpacked is not None
    assert unpacked["interpreter"] == inner["interpreter"]
    assert unpacked["needed"] == inner["needed"]
    assert unpacked["version_needs"] == inner["version_needs"]
    assert unpacked["min_kernel"] == inner["abi_tag_kernel"]
    assert (unpacked["class"], unpacked["endianness"]) == (inner["class"], inner["endianness"])


def _top_glibc(t: dict) -> tuple[str, list[str]]:  # type: ignore[type-arg]
    names = [n for needs in t["version_needs"].values() for n in needs if n.startswith("GLIBC_2")]
    top = max(names, key=lambda n: tuple(int(p) for p in n[6:].split(".")))
    return top, sorted(t["undefined_versioned"][top])


def test_packed_dynamic_program_fails_with_the_inside_described(fixture: Get) -> None:
    packed = fixture("upx_pie")
    inner = truth(fixture("c_dynamic"))
    top, symbols = _top_glibc(inner)
    policy = build_policy({}, {"max-glibc": "2.17", "require-static": True})
    result = check_paths([str(packed)], policy).files[0]
    assert result.status == "fail"
    by_rule = {f.rule: f for f in result.findings}
    assert {"glibc-version", "not-static", "packed"} <= set(by_rule)
    packed_finding = by_rule["packed"]
    assert packed_finding.severity == "info"
    inside = f"dynamic, needs {top} via {', '.join(symbols[:3])}, NEEDED {', '.join(inner['needed'])}"
    expected = f"packed with UPX {_upx_release()}; inside: {inside}"
    assert packed_finding.message == expected
    assert result.elf is not None and result.elf.needed == []  # `elf` still describes the file on disk
    assert result.not_on  # portability comes from the program inside


def test_packed_static_program_passes_require_static(fixture: Get) -> None:
    policy = build_policy({}, {"require-static": True, "max-glibc": "2.17"})
    result = check_paths([str(fixture("upx_static"))], policy).files[0]
    assert result.status == "pass"
    assert [f.rule for f in result.findings] == ["packed"]
    inner = truth(fixture("c_static"))
    assert inner["e_type"] == "EXEC" and inner["interpreter"] is None and inner["needed"] == []
    assert result.extra["packer"]["unpacked"]["linkage"] == "static"
    assert result.findings[0].message == f"packed with UPX {_upx_release()}; inside: static glibc"


def test_packed_go_program_reports_go_build_info(fixture: Get) -> None:
    # `go version -m` cannot read a packed Go program; we read the one inside.
    packed = fixture("upx_go")
    assert subprocess.run(["go", "version", "-m", str(packed)], capture_output=True, text=True, check=False).stdout.count("\tbuild\t") == 0
    go = inspect_path(str(packed)).extra["go"]
    assert go is not None and go["version"] == inspect_path(str(fixture("go_nocgo"))).extra["go"]["version"]
    assert go["cgo_enabled"] is False


def test_users_file_untouched_and_temp_dir_removed(fixture: Get, tmp_path: Path) -> None:
    src = tmp_path / "in" / "app"
    src.parent.mkdir()
    shutil.copyfile(fixture("upx_pie"), src)
    src.chmod(0o500)
    before = (hashlib.sha256(src.read_bytes()).hexdigest(), src.stat().st_mtime_ns, src.stat().st_mode)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    proc = _cli(["--format", "json", str(src)], {**os.environ, "TMPDIR": str(scratch)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["files"][0]["packer"]["unpacked"]["needed"] == ["libc.so.6"]
    assert (hashlib.sha256(src.read_bytes()).hexdigest(), src.stat().st_mtime_ns, src.stat().st_mode) == before
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in src.parent.iterdir()) == ["app"]


def test_without_upx_fails_closed_unless_allowed(fixture: Get, tmp_path: Path) -> None:
    no_tools = tmp_path / "bin"
    no_tools.mkdir()
    env = {**os.environ, "PATH": str(no_tools)}
    packed = str(fixture("upx_pie"))
    proc = _cli(["--format", "json", "--max-glibc", "2.17", packed], env)
    assert proc.returncode == 1, proc.stderr
    entry = json.loads(proc.stdout)["files"][0]
    assert entry["packer"]["unpacked"] is None
    assert entry["packer"]["unpack_error"] == "upx is not installed"
    assert entry["runs_on"] is None  # nothing certified from the stub's headers
    (finding,) = [f for f in entry["findings"] if f["rule"] == "packed"]
    assert finding["severity"] == "error"
    assert "cannot verify" in finding["message"] and "allow-packed" in finding["hint"]
    allowed = _cli(["--format", "json", "--max-glibc", "2.17", "--allow-packed", packed], env)
    assert allowed.returncode == 0, allowed.stderr
    entry = json.loads(allowed.stdout)["files"][0]
    assert [f["severity"] for f in entry["findings"] if f["rule"] == "packed"] == ["info"]
    assert json.loads(allowed.stdout)["policy"]["allow_packed"] is True


def test_unpacked_size_limit_is_checked_before_unpacking(fixture: Get, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upx, "MAX_UNPACKED_BYTES", 4096)
    packer = inspect_path(str(fixture("upx_pie"))).extra["packer"]
    assert packer["unpacked"] is None
    assert packer["unpack_error"] == f"unpacked size {packer['unpacked_size']} bytes is above the limit of 4096 bytes"


def test_upx_output_is_capped_while_unpacking(fixture: Get, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A lying pack header cannot get past the limit either: upx itself is stopped by RLIMIT_FSIZE.
    exe = shutil.which("upx")
    if exe is None:
        pytest.skip("upx is not installed")
    monkeypatch.setattr(upx, "MAX_UNPACKED_BYTES", 4096)
    packed = tmp_path / "packed"
    shutil.copyfile(fixture("upx_static"), packed)
    out = tmp_path / "out"
    error = upx._run_upx(exe, str(packed), str(out))
    assert error is not None and error.startswith("upx -d failed")
    assert not out.exists() or out.stat().st_size <= 4096


def test_corrupt_packed_file_is_reported_and_others_still_judged(fixture: Get, tmp_path: Path) -> None:
    data = bytearray(fixture("upx_pie").read_bytes())
    data[600:664] = bytes(64)  # damage the first compressed block
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(data))
    assert _upx("-t", bad).returncode != 0  # upx agrees the file is broken
    good = tmp_path / "good"
    shutil.copyfile(fixture("upx_static"), good)
    report = check_paths([str(bad), str(good)], build_policy({}, {"require-static": True}))
    by_name = {Path(r.path).name: r for r in report.files}
    assert by_name["bad"].status == "fail"
    assert by_name["bad"].extra["packer"]["unpack_error"].startswith("upx -d failed: ")
    assert str(tmp_path) not in by_name["bad"].extra["packer"]["unpack_error"]
    assert by_name["good"].status == "pass"


def test_unpacked_files_have_a_null_packer(fixture: Get) -> None:
    result = check_paths([str(fixture("c_dynamic"))], build_policy({}, {})).files[0]
    assert "packer" in result.to_dict() and result.to_dict()["packer"] is None


def test_text_output_says_the_headers_are_the_stubs(fixture: Get, capsys: pytest.CaptureFixture[str]) -> None:
    from checker.cli import main

    assert main(["--max-glibc", "2.17", str(fixture("upx_nopie"))]) == 1
    first, *rest = capsys.readouterr().out.splitlines()
    assert first.startswith("FAIL") and first.endswith("(packed with UPX; headers of the unpacker stub)")
    assert any("[packed] packed with UPX" in line and "inside: dynamic" in line for line in rest)


def test_truncated_packed_file_gets_a_reason(fixture: Get, tmp_path: Path) -> None:
    cut = tmp_path / "cut"
    cut.write_bytes(fixture("upx_go").read_bytes()[:500_000])  # the pack header at the end is gone
    assert _upx("-t", cut).returncode != 0
    result = check_paths([str(cut)], build_policy({}, {"require-static": True})).files[0]
    if result.status == "error":  # the ELF reader may already refuse it
        assert result.reason and "\n" not in result.reason
    else:
        assert result.status == "fail"
        assert result.extra["packer"]["unpack_error"] == "upx -d failed: upx: <file>: NotPackedException: not packed by UPX"


@pytest.mark.parametrize("name", ["upx_scrubbed_pie", "upx_scrubbed_nopie"])
def test_packed_file_with_markers_removed_is_not_certified(fixture: Get, name: str) -> None:
    """UPX output with its markers overwritten: `file` says static, readelf finds no loader, no NEEDED and
    no section headers; the program inside still needs glibc 2.34, so the stub must not pass a glibc limit."""
    path = fixture(name)
    t = truth(path)
    assert not t["has_section_headers"] and t["interpreter"] is None and t["needed"] == []
    assert _upx("-t", path).returncode != 0  # upx itself no longer recognises it
    result = check_paths([str(path)], build_policy({}, {"max-glibc": "2.17"})).files[0]
    assert result.status == "fail"
    (finding,) = result.findings
    assert finding.rule == "packed" and finding.severity == "error"
    assert "cannot verify" in finding.message and "no section headers" in finding.message
    assert "allow-packed" in finding.hint
    assert result.elf is not None and result.elf.type in ("executable", "pie-executable")  # no PT_DYNAMIC: never a library
    assert result.runs_on is None and result.not_on is None  # nothing certified from the stub's headers
    allowed = check_paths([str(path)], build_policy({}, {"max-glibc": "2.17", "allow-packed": True})).files[0]
    assert allowed.status == "pass" and [f.severity for f in allowed.findings] == ["info"]


@pytest.mark.parametrize("name", ["go_bare", "no_section_headers", "c_static"])
def test_identified_programs_are_not_called_packed(fixture: Get, name: str) -> None:
    """Header-less files whose loader, libc or Go runtime is found are judged normally."""
    result = check_paths([str(fixture(name))], build_policy({}, {"max-glibc": "2.17"})).files[0]
    assert "packed" not in [f.rule for f in result.findings]
