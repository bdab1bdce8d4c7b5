"""Every container format, built with the real tools, checked member by member."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.report import FORMATS, render
from tests.archives.builders import make_deb, make_rpm, make_tar, make_zip
from tests.archives.conftest import Check, by_path, rules
from tests.readelf_truth import truth

Get = Callable[[str], Path]

TAR_COMPRESSIONS = ["", "gz", "bz2", "xz", "zst"]


def _release(fixture: Get) -> dict[str, Path | bytes]:
    return {
        "app_1.2/bin/app": fixture("c_dynamic"),  # needs GLIBC_2.34
        "app_1.2/bin/tool": fixture("zig_glibc217"),  # fits glibc 2.17
        "app_1.2/README.md": b"# app\n",
        "app_1.2/run.sh": fixture("script_sh"),
    }


def _assert_release(report_path: str, report, fixture: Get, inner: str = "app_1.2/") -> None:  # type: ignore[no-untyped-def]
    files = by_path(report)
    archive = files[report_path]
    app = files[f"{report_path}!{inner}bin/app"]
    tool = files[f"{report_path}!{inner}bin/tool"]
    assert app.status == "fail" and rules(app) == ["glibc-version"]
    assert tool.status == "pass" and tool.findings == []
    # facts of a member are the facts readelf gives for the file that went in
    for result, name in ((app, "c_dynamic"), (tool, "zig_glibc217")):
        t = truth(fixture(name))
        assert result.elf is not None
        assert result.elf.needed == t["needed"]
        assert result.elf.interpreter == t["interpreter"]
    assert archive.status == "fail"
    assert archive.extra["archive"]["elf_members"] == 2
    assert archive.extra["archive"]["error"] is None
    # non-ELF members are counted on the archive's entry, not listed
    assert not any(p.endswith(("README.md", "run.sh")) for p in files)
    assert report.verdict == "fail"


@pytest.mark.parametrize("compression", TAR_COMPRESSIONS)
def test_tar_every_compression(fixture: Get, check: Check, tmp_path: Path, compression: str) -> None:
    suffix = f".tar.{compression}" if compression else ".tar"
    path = make_tar(tmp_path / f"app_1.2_linux_amd64{suffix}", _release(fixture), compression=compression)
    report = check([path], cli={"max-glibc": "2.17"})
    _assert_release(str(path), report, fixture)
    archive = by_path(report)[str(path)]
    assert archive.extra["archive"]["format"] == ("tar." + compression if compression else "tar")
    assert archive.extra["archive"]["skipped_reasons"] == {"not ELF": 1, "shell script": 1}


def test_recognised_by_content_not_name(fixture: Get, check: Check, tmp_path: Path) -> None:
    path = make_tar(tmp_path / "release.bin", _release(fixture), compression="xz")
    report = check([path], cli={"max-glibc": "2.17"})
    _assert_release(str(path), report, fixture)


def test_zip(fixture: Get, check: Check, tmp_path: Path) -> None:
    path = make_zip(tmp_path / "app_1.2_linux_amd64.zip", _release(fixture), symlinks={"app_1.2/bin/app-link": "app"})
    report = check([path], cli={"max-glibc": "2.17"})
    _assert_release(str(path), report, fixture)
    assert by_path(report)[str(path)].extra["archive"]["skipped_reasons"]["symbolic link"] == 1


@pytest.mark.parametrize("compression", ["xz", "gzip", "zstd", "none"])
def test_deb(fixture: Get, check: Check, tmp_path: Path, compression: str) -> None:
    files = {"usr/bin/app": fixture("c_dynamic"), "usr/bin/tool": fixture("zig_glibc217"), "usr/share/doc/app/README": b"x\n"}
    # absolute symlinks are normal in packages: they point inside the installed tree
    deb = make_deb(tmp_path, "app", files, compression=compression, symlinks={"usr/bin/app-alias": "/usr/bin/app"})
    report = check([deb], cli={"max-glibc": "2.17"})
    _assert_release(str(deb), report, fixture, inner="usr/")
    assert by_path(report)[str(deb)].extra["archive"]["format"] == "deb"


@pytest.mark.parametrize("payload", ["w9.gzdio", "w6.xzdio", "w19.zstdio", "w9.bzdio"])
def test_rpm(fixture: Get, check: Check, tmp_path: Path, payload: str) -> None:
    files = {"usr/bin/app": fixture("c_dynamic"), "usr/bin/tool": fixture("zig_glibc217"), "usr/share/doc/app/README": b"x\n"}
    rpm = make_rpm(tmp_path, "app", files, payload=payload)
    report = check([rpm], cli={"max-glibc": "2.17"})
    _assert_release(str(rpm), report, fixture, inner="usr/")
    assert by_path(report)[str(rpm)].extra["archive"]["format"] == "rpm"


def test_large_member_goes_through_private_temp_file(fixture: Get, check: Check, tmp_path: Path) -> None:
    """in_memory=0: every ELF member is spilled to the private temp dir, inspected, and removed."""
    path = make_tar(tmp_path / "app.tar.gz", _release(fixture), compression="gz")
    report = check([path], cli={"max-glibc": "2.17"}, in_memory=0)
    _assert_release(str(path), report, fixture)


def test_nested_archive_one_level_by_default(fixture: Get, check: Check, tmp_path: Path) -> None:
    inner = make_zip(tmp_path / "plugins.zip", {"lib/plugin": fixture("c_dynamic")})
    members = {"bundle/plugins.zip": inner, "bundle/bin/tool": fixture("zig_glibc217")}
    outer = make_tar(tmp_path / "bundle.tar.gz", members, compression="gz")
    files = by_path(check([outer], cli={"max-glibc": "2.17"}))
    nested = files[f"{outer}!bundle/plugins.zip"]
    assert nested.extra["archive"]["format"] == "zip" and nested.status == "fail"
    assert rules(files[f"{outer}!bundle/plugins.zip!lib/plugin"]) == ["glibc-version"]
    assert files[f"{outer}!bundle/bin/tool"].status == "pass"
    assert files[str(outer)].extra["archive"]["nested_archives"] == 1

    closed = by_path(check([outer], cli={"max-glibc": "2.17"}, depth=0))
    assert f"{outer}!bundle/plugins.zip!lib/plugin" not in closed
    assert closed[str(outer)].status == "pass"
    assert closed[str(outer)].extra["archive"]["skipped_reasons"] == {"nested archive (--archive-depth 0)": 1}


def test_compressed_non_archives_are_just_skipped(fixture: Get, check: Check, tmp_path: Path) -> None:
    import gzip

    changelog = gzip.compress(b"log\n" * 50)
    deb = make_deb(tmp_path, "docs", {"usr/bin/tool": fixture("zig_glibc217"), "usr/share/doc/docs/changelog.gz": changelog})
    files = by_path(check([deb]))
    assert files[str(deb)].status == "pass"
    assert files[str(deb)].extra["archive"]["skipped_reasons"] == {"not ELF (gzip data)": 1}


def test_archive_without_elf_is_skipped(check: Check, tmp_path: Path) -> None:
    path = make_tar(tmp_path / "docs.tar.gz", {"docs/index.html": b"<html></html>"}, compression="gz")
    archive = by_path(check([path]))[str(path)]
    assert archive.status == "skipped"
    assert "no ELF files among 1 member" in (archive.reason or "")


def test_overrides_apply_to_the_inner_path(fixture: Get, check: Check, tmp_path: Path) -> None:
    path = make_tar(tmp_path / "app.tar.gz", _release(fixture), compression="gz")
    config = {"max-glibc": "2.17", "overrides": [{"paths": ["app_1.2/bin/app"], "max-glibc": "2.34"}]}
    files = by_path(check([path], config=config))
    assert files[f"{path}!app_1.2/bin/app"].status == "pass"
    assert files[str(path)].status == "pass"


def test_member_paths_in_every_output_format(fixture: Get, check: Check, tmp_path: Path) -> None:
    path = make_tar(tmp_path / "app_1.2_linux_amd64.tar.gz", _release(fixture), compression="gz")
    report = check([path], cli={"max-glibc": "2.17"})
    member = f"{path}!app_1.2/bin/app"
    for fmt in FORMATS:
        out = render(report, fmt)
        assert member in out or member.replace("/", "\\/") in out, f"{fmt} report lacks {member}"
    data = json.loads(render(report, "json"))
    entry = next(f for f in data["files"] if f["path"] == member)
    assert entry["archive_member"] == {"archive": str(path), "member": "app_1.2/bin/app"}
    assert entry["findings"][0]["rule"] == "glibc-version"


def test_junit_failure_of_an_archive_says_why(fixture: Get, check: Check, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    path = make_tar(tmp_path / "app.tar.gz", _release(fixture), compression="gz")
    root = ET.fromstring(render(check([path], cli={"max-glibc": "2.17"}), "junit"))
    case = next(c for c in root.iter("testcase") if c.get("name") == str(path))
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == "tar.gz archive: 2 ELF files checked (1 failed), 2 other members not checked"
    assert failure.get("type") == "archive"
