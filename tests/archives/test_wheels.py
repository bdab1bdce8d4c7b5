"""Wheels: the platform tag is a promise; every ELF file inside must keep it (like `auditwheel show`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from checker.archives.wheel import parse_platform, tags_from_filename, tags_from_metadata
from checker.data_files import load
from tests.archives.builders import make_tar, make_wheel
from tests.archives.conftest import Check, by_path, rules
from tests.readelf_truth import truth

Get = Callable[[str], Path]

MANYLINUX_2_17 = "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
EXT = "demo/_core.cpython-311-x86_64-linux-gnu.so"


def _wheel(tmp_path: Path, filename: str, files: dict[str, Path | bytes], tags: list[str] | None = None) -> Path:
    plat = filename[:-4].split("-")[-1]
    default = [f"cp311-cp311-{p}" for p in plat.split(".")]
    return make_wheel(tmp_path, filename, {"demo/__init__.py": b"", **files}, wheel_tags=default if tags is None else tags)


def _mismatches(report, wheel: Path, member: str = EXT) -> list[str]:  # type: ignore[no-untyped-def]
    result = by_path(report)[f"{wheel}!{member}"]
    return [f.message for f in result.findings if f.rule == "wheel-tag-mismatch"]


def test_honest_wheel_passes(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, MANYLINUX_2_17, {EXT: fixture("zig_glibc217")})
    report = check([wheel])
    entry = by_path(report)[str(wheel)]
    assert entry.status == "pass"
    assert entry.extra["wheel"]["platform_tags"] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert entry.extra["wheel"]["metadata_tags"] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert entry.extra["wheel"]["files_not_fitting"] == 0
    assert _mismatches(report, wheel) == []
    assert report.verdict == "pass"


def test_glibc_newer_than_the_tag(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, MANYLINUX_2_17, {EXT: fixture("c_dynamic")})
    report = check([wheel])
    (message,) = _mismatches(report, wheel)  # one finding for both tags of the compressed set
    top = max(truth(fixture("c_dynamic"))["version_needs"]["libc.so.6"], key=lambda v: tuple(int(x) for x in v[6:].split(".")))
    assert "manylinux_2_17_x86_64, manylinux2014_x86_64" in message
    assert f"needs glibc {top.removeprefix('GLIBC_')}" in message and "above the 2.17" in message
    assert "__libc_start_main" in message
    entry = by_path(report)[str(wheel)]
    assert entry.status == "fail" and entry.extra["wheel"]["files_not_fitting"] == 1
    assert entry.extra["wheel"]["glibc_needed"] == top.removeprefix("GLIBC_")
    assert report.verdict == "fail"


def test_wrong_architecture(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "demo-1.0-cp311-cp311-linux_x86_64.whl", {EXT: fixture("aarch64_gcc")})
    assert _mismatches(check([wheel]), wheel) == ["does not fit the wheel tag linux_x86_64: built for aarch64, but the tag says x86_64"]


def test_musl_file_in_manylinux_wheel(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "demo-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", {EXT: fixture("musl_dynamic")})
    messages = _mismatches(check([wheel]), wheel)
    assert any("linked against musl, but manylinux tags promise glibc" in m for m in messages)


def test_glibc_file_in_musllinux_wheel(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", {EXT: fixture("c_dynamic")})
    messages = _mismatches(check([wheel]), wheel)
    assert any("linked against glibc, but musllinux tags promise musl" in m for m in messages)


def test_musl_wheel_fits_musllinux(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl", {EXT: fixture("musl_dynamic")})
    assert _mismatches(check([wheel]), wheel) == []


def test_outside_library_must_be_bundled(fixture: Get, check: Check, tmp_path: Path) -> None:
    needed = truth(fixture("c_rpath_abs"))["needed"]
    assert "libfoo.so.1" in needed
    name = "demo-1.0-cp311-cp311-manylinux_2_34_x86_64.whl"
    alone = _wheel(tmp_path, name, {EXT: fixture("c_rpath_abs")})
    (message,) = _mismatches(check([alone]), alone)
    assert "needs libfoo.so.1, neither bundled in the wheel nor on the manylinux list" in message

    (tmp_path / "bundled").mkdir()
    bundled = _wheel(tmp_path / "bundled", name, {EXT: fixture("c_rpath_abs"), "demo.libs/libfoo.so.1": fixture("lib_runpath")})
    assert _mismatches(check([bundled]), bundled) == []


def test_pure_wheel_with_compiled_code(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "demo-1.0-py3-none-any.whl", {EXT: fixture("zig_glibc217")})
    (message,) = _mismatches(check([wheel]), wheel)
    assert "tagged 'any' (pure Python) but contains a compiled x86_64 ELF file" in message


def test_tags_from_metadata_when_the_name_has_none(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", {EXT: fixture("c_dynamic")})
    renamed = wheel.rename(tmp_path / "demo-build-output.zip")
    report = check([renamed])
    assert by_path(report)[str(renamed)].extra["wheel"]["platform_tags"] == ["manylinux_2_17_x86_64"]
    assert len(_mismatches(report, renamed)) == 1


def test_ignore_and_severity_apply(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, MANYLINUX_2_17, {EXT: fixture("c_dynamic")})
    assert _mismatches(check([wheel], cli={"ignore": "wheel-tag-mismatch"}), wheel) == []
    report = check([wheel], config={"severity": {"wheel-tag-mismatch": "warning"}})
    assert by_path(report)[f"{wheel}!{EXT}"].status == "pass"
    assert rules(by_path(report)[f"{wheel}!{EXT}"]) == ["wheel-tag-mismatch"]


def test_wheel_inside_a_release_tarball(fixture: Get, check: Check, tmp_path: Path) -> None:
    wheel = _wheel(tmp_path, MANYLINUX_2_17, {EXT: fixture("c_dynamic")})
    tar = make_tar(tmp_path / "dist.tar.gz", {f"dist/{wheel.name}": wheel}, compression="gz")
    files = by_path(check([tar]))
    member = files[f"{tar}!dist/{wheel.name}!{EXT}"]
    assert rules(member) == ["wheel-tag-mismatch"]
    assert files[str(tar)].status == "fail"


@pytest.mark.parametrize(
    ("tag", "family", "arch", "version"),
    [
        ("manylinux_2_17_x86_64", "manylinux", "x86_64", (2, 17)),
        ("manylinux2014_aarch64", "manylinux", "aarch64", (2, 17)),
        ("manylinux2010_i686", "manylinux", "i386", (2, 12)),
        ("manylinux1_x86_64", "manylinux", "x86_64", (2, 5)),
        ("musllinux_1_2_aarch64", "musllinux", "aarch64", (1, 2)),
        ("linux_armv7l", "linux", "arm", None),
        ("any", "any", None, None),
        ("win_amd64", "other", None, None),
    ],
)
def test_parse_platform(tag: str, family: str, arch: str | None, version: tuple[int, ...] | None) -> None:
    parsed = parse_platform(tag)
    assert (parsed.family, parsed.arch, parsed.version) == (family, arch, version)
    if arch:  # tag arches map onto the machine names the inspector reports
        assert arch in set(load("machines.json")["machines"].values()) | set(load("machines.json")["by_class_and_endianness"].values())


def test_tag_sources() -> None:
    assert tags_from_filename("dist/numpy-2.0.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") == [
        "manylinux_2_17_x86_64",
        "manylinux2014_x86_64",
    ]
    assert tags_from_filename("pkg-1.0-1-py3-none-any.whl") == ["any"]
    assert tags_from_filename("notawheel.whl") is None
    assert tags_from_metadata("Wheel-Version: 1.0\nTag: cp312-cp312-musllinux_1_2_x86_64\nTag: cp312-abi3-musllinux_1_2_x86_64\n") == [
        "musllinux_1_2_x86_64"
    ]


def test_libstdcxx_newer_than_the_manylinux_image(fixture: Get, check: Check, tmp_path: Path) -> None:
    needs = truth(fixture("cxx_iostream"))["version_needs"]["libstdc++.so.6"]
    glibcxx = max((v for v in needs if v.startswith("GLIBCXX_")), key=lambda v: tuple(int(x) for x in v[8:].split(".")))
    wheel = _wheel(tmp_path, "demo-1.0-cp311-cp311-manylinux2014_x86_64.whl", {EXT: fixture("cxx_iostream")})
    messages = _mismatches(check([wheel]), wheel)
    limit = load("targets.json")["targets"]["manylinux2014"]["GLIBCXX"]
    assert f"does not fit the wheel tag manylinux2014_x86_64: needs GLIBCXX {glibcxx[8:]}, above the {limit}" in "\n".join(messages)
    (tmp_path / "new").mkdir()
    newer = _wheel(tmp_path / "new", "demo-1.0-cp311-cp311-manylinux_2_34_x86_64.whl", {EXT: fixture("cxx_iostream")})
    assert _mismatches(check([newer]), newer) == []
