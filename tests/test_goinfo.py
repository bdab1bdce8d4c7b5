"""Go build info read from the file, checked against `go version -m` (which reads, never runs, the file)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.evaluate import GO_CGO_HINT
from checker.inspect.elf_file import inspect_path
from checker.policy import build_policy
from checker.run import check_paths
from tests.readelf_truth import truth

Get = Callable[[str], Path]
WITH_BUILD_INFO = ["go_nocgo", "go_cgo", "go_netgo", "go_cgo_static", "go_buildinfo_old", "go_ldflags_stripped"]


def go_version_m(path: Path) -> dict:  # type: ignore[type-arg]
    """Parse `go version -m`: first line 'FILE: goX.Y.Z', then tab-indented path/mod/dep/build lines."""
    if shutil.which("go") is None:
        pytest.skip("go is not installed")
    proc = subprocess.run(["go", "version", "-m", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    out: dict = {"version": lines[0].rsplit(": ", 1)[1], "path": None, "mod": None, "build": {}}  # type: ignore[type-arg]
    for line in lines[1:]:
        fields = line.lstrip("\t").split("\t")
        if fields[0] == "path":
            out["path"] = fields[1]
        elif fields[0] == "mod":
            out["mod"] = (fields[1], fields[2])
        elif fields[0] == "build":
            key, _, value = fields[1].partition("=")
            out["build"][key] = json.loads(value) if value.startswith('"') else value  # ASCII Go quoting == JSON
    return out


@pytest.mark.parametrize("name", WITH_BUILD_INFO)
def test_build_info_matches_go_version_m(fixture: Get, name: str) -> None:
    path = fixture(name)
    expected = go_version_m(path)
    go = inspect_path(str(path)).extra["go"]
    assert go["toolchain"] == "gc" and go["build_info"] is True
    assert go["version"] == expected["version"]
    assert go["path"] == expected["path"]
    assert (go["main"]["path"], go["main"]["version"]) == expected["mod"]
    assert go["build"] == expected["build"]
    assert go["cgo_enabled"] == {"1": True, "0": False}[expected["build"]["CGO_ENABLED"]]
    assert go["tags"] == [t for t in expected["build"].get("-tags", "").split(",") if t]
    assert go["ldflags"] == expected["build"].get("-ldflags")
    assert (go["goos"], go["goarch"]) == (expected["build"]["GOOS"], expected["build"]["GOARCH"])


def test_old_pointer_layout_is_read(fixture: Get) -> None:
    data = fixture("go_buildinfo_old").read_bytes()
    header = data.find(b"\xff Go buildinf:")
    assert data[header + 15] & 0x2 == 0  # pre-1.18 layout: pointers, not inline strings
    assert inspect_path(str(fixture("go_buildinfo_old"))).extra["go"]["version"] == go_version_m(fixture("go_nocgo"))["version"]


def test_quoted_ldflags_and_stripped_symbols(fixture: Get) -> None:
    path = fixture("go_ldflags_stripped")
    assert truth(path)["has_symtab"] is False
    go = inspect_path(str(path)).extra["go"]
    assert go["ldflags"] == "-s -w -X 'main.greeting=hello world'"


def test_build_info_removed_is_still_a_go_binary(fixture: Get) -> None:
    path = fixture("go_stripped_buildinfo")
    proc = subprocess.run(["go", "version", "-m", str(path)], capture_output=True, text=True, check=False)
    assert "not a Go executable" in proc.stdout + proc.stderr  # the Go tool gives up here
    go = inspect_path(str(path)).extra["go"]
    assert go is not None
    assert go["version"] is None and go["build_info"] is False and go["cgo_enabled"] is None
    assert "section .gopclntab" in go["evidence"]


def test_go_without_sections_or_build_info_is_recognised_by_its_runtime(fixture: Get) -> None:
    path = fixture("go_bare")
    proc = subprocess.run(["go", "version", "-m", str(path)], capture_output=True, text=True, check=False)
    assert "not a Go executable" in proc.stdout + proc.stderr
    go = inspect_path(str(path)).extra["go"]
    assert go is not None and go["version"] is None and go["toolchain"] == "gc"
    assert go["evidence"] == ["Go runtime function names (runtime.goexit, runtime.morestack)"]
    facts = inspect_path(str(path)).facts
    assert facts is not None and facts.linkage == "static" and facts.libc == "none"


def test_pure_go_pie_gets_a_hint_other_than_cgo(fixture: Get) -> None:
    path = fixture("go_pie")
    assert go_version_m(path)["build"]["CGO_ENABLED"] == "0"
    t = truth(path)
    result = check_paths([str(path)], build_policy({}, {"require-static": True})).files[0]
    (not_static,) = [f for f in result.findings if f.rule == "not-static"]
    assert t["interpreter"] in not_static.message
    assert "-buildmode=exe" in not_static.hint and not_static.hint != GO_CGO_HINT
    assert "go-cgo" not in {f.rule for f in result.findings}


def test_gccgo_is_recognised_by_libgo(fixture: Get) -> None:
    path = fixture("gccgo_dynamic")
    libgo = [n for n in truth(path)["needed"] if n.startswith("libgo.so")]
    go = inspect_path(str(path)).extra["go"]
    assert go["toolchain"] == "gccgo"
    assert f"NEEDED {libgo[0]} (gccgo runtime)" in go["evidence"]
    result = check_paths([str(path)], build_policy({}, {"require-static": True})).files[0]
    (not_static,) = [f for f in result.findings if f.rule == "not-static"]
    assert "gccgo" in not_static.hint


@pytest.mark.parametrize("name", ["c_dynamic", "c_static", "musl_static", "cxx_iostream"])
def test_non_go_files_have_null_go(fixture: Get, name: str) -> None:
    assert inspect_path(str(fixture(name))).extra["go"] is None


def test_dynamic_cgo_binary_gets_the_cgo_hint(fixture: Get) -> None:
    result = check_paths([str(fixture("go_cgo"))], build_policy({}, {"target": "centos7", "require-static": True})).files[0]
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["go-cgo"].hint == (
        "build with CGO_ENABLED=0, or -tags netgo,osusergo and -ldflags '-linkmode external -extldflags -static'"
    )
    assert by_rule["go-cgo"].severity == "info"
    assert by_rule["not-static"].hint == GO_CGO_HINT
    assert by_rule["glibc-version"].hint.startswith(GO_CGO_HINT)  # Go-aware instead of the C advice


@pytest.mark.parametrize("name, how", [("go_netgo", "tags netgo,osusergo"), ("go_cgo_static", "-trimpath leaves -ldflags out")])
def test_cgo_binary_that_is_static_is_reported_as_such(fixture: Get, name: str, how: str) -> None:
    path = fixture(name)
    t = truth(path)
    assert t["interpreter"] is None and t["needed"] == []
    build = go_version_m(path)["build"]
    assert ("-tags" not in build and "-ldflags" not in build and build.get("-trimpath") == "true") is (name == "go_cgo_static")
    result = check_paths([str(path)], build_policy({}, {"require-static": True})).files[0]
    (cgo,) = [f for f in result.findings if f.rule == "go-cgo"]
    assert cgo.severity == "info"
    assert "built with CGO_ENABLED=1 is nevertheless static" in cgo.message and how in cgo.message
    assert "not-static" not in {f.rule for f in result.findings}


def test_go_json_contract(fixture: Get) -> None:
    entry = check_paths([str(fixture("go_netgo"))], build_policy({}, {})).files[0].to_dict()
    go = entry["go"]
    for key in ("version", "main", "cgo_enabled", "tags", "ldflags", "goos", "goarch", "build"):
        assert key in go
    assert json.loads(json.dumps(entry))["go"] == go


@pytest.mark.parametrize("name", ["go_nocgo", "go_buildinfo_old"])
def test_damaged_build_info_never_raises(fixture: Get, name: str) -> None:
    from checker.inspect.goinfo import BUILDINFO_MAGIC, go_info
    from checker.inspect.pyelf_reader import read_raw

    data = fixture(name).read_bytes()
    with fixture(name).open("rb") as fh:
        raw = read_raw(fh)
    version = go_version_m(fixture(name))["version"]
    at = data.find(BUILDINFO_MAGIC)
    for cut in (15, 16, 20, 33, 40):  # truncated inside the header and the strings
        info = go_info(raw, data[: at + cut])
        assert info is not None and info["version"] is None
    for offset in range(14, 48):  # every header byte and the first string bytes, set to 0xff
        damaged = bytearray(data)
        damaged[at + offset] = 0xFF
        info = go_info(raw, bytes(damaged))
        assert info is not None and info["version"] in (None, version)  # never garbage


def test_text_report_says_what_go_and_libc_it_found(fixture: Get) -> None:
    """`--verbose` text names the Go release and cgo setting (as `go version -m` prints them), says when the
    build info was removed, and which libc a static file carries with the evidence."""
    from checker.report import text

    paths = [fixture(n) for n in ("go_cgo", "go_stripped_buildinfo", "gccgo_dynamic", "c_static_stripped", "musl_static")]
    expected = go_version_m(paths[0])
    rendered = text.render(check_paths([str(p) for p in paths], build_policy({}, {})), verbose=True)
    blocks = {p.name: rendered.split(str(p), 1)[1].split("\n", 1)[1] for p in paths}
    assert f"go: {expected['version']}, CGO_ENABLED={expected['build']['CGO_ENABLED']}, main {expected['path']}" in blocks["go_cgo"]
    assert "go: Go program, build info removed (found by" in blocks["go_stripped_buildinfo"]
    assert "go: gccgo program (NEEDED libgo" in blocks["gccgo_dynamic"]
    assert "libc: static glibc (" in blocks["c_static_stripped"].split("PASS")[0]
    assert "libc: static musl (" in blocks["musl_static"]
