"""Hostile and broken archives are bad input: a clear per-file error, the run goes on, nothing is
written outside the private temp directory, and that directory is gone afterwards."""

from __future__ import annotations

import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.archives.builders import add_hardlink, make_deb, make_rpm, make_tar, make_zip
from tests.archives.conftest import Check, by_path
from tests.inspector_hook import extra_inspector

Get = Callable[[str], Path]
REPO = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def _error(report, path: str) -> str:  # type: ignore[no-untyped-def]
    result = by_path(report)[path]
    assert result.status == "error", f"{path}: {result.status} ({result.reason})"
    assert result.reason and "\n" not in result.reason
    return result.reason


def test_path_traversal_and_absolute_names(fixture: Get, check: Check, tmp_path: Path) -> None:
    victim = f"/tmp/static-check-victim-{uuid.uuid4().hex}"
    raw = tmp_path / "evil.tar"
    with tarfile.open(raw, "w") as tar:
        for name, data in (("../escape.txt", b"x"), (victim, b"y"), ("ok/../../twice.txt", b"z")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("app/bin/app")
        elf = fixture("c_dynamic").read_bytes()
        info.size = len(elf)
        tar.addfile(info, io.BytesIO(elf))
    report = check([raw], cli={"max-glibc": "2.17"})
    assert "path traversal" in _error(report, f"{raw}!../escape.txt")
    assert "path traversal" in _error(report, f"{raw}!ok/../../twice.txt")
    assert "absolute member path" in _error(report, f"{raw}!{victim}")
    # the good member beside them still gets its verdict
    assert by_path(report)[f"{raw}!app/bin/app"].status == "fail"
    assert by_path(report)[str(raw)].status == "error"
    assert report.verdict == "error"
    assert not Path(victim).exists() and not (tmp_path.parent / "escape.txt").exists() and not (tmp_path.parent / "twice.txt").exists()


def test_links_pointing_outside(fixture: Get, check: Check, tmp_path: Path) -> None:
    links = {"pkg/bin/passwd": "../../../etc/passwd", "pkg/bin/abs": "/etc/passwd", "pkg/bin/alias": "app"}
    path = make_tar(tmp_path / "links.tar", {"pkg/bin/app": fixture("zig_glibc217")}, symlinks=links)
    add_hardlink(path, "pkg/bin/shadow", "../../etc/shadow")
    add_hardlink(path, "pkg/bin/app2", "pkg/bin/app")
    report = check([path])
    assert "symbolic link pointing outside the archive (-> ../../../etc/passwd)" in _error(report, f"{path}!pkg/bin/passwd")
    assert "absolute path" in _error(report, f"{path}!pkg/bin/abs")
    assert "hard link to a path outside the archive" in _error(report, f"{path}!pkg/bin/shadow")
    files = by_path(report)
    assert f"{path}!pkg/bin/alias" not in files and f"{path}!pkg/bin/app2" not in files
    assert files[f"{path}!pkg/bin/app"].status == "pass"
    assert files[str(path)].extra["archive"]["skipped_reasons"] == {"hard link": 1, "symbolic link": 1}
    assert files[str(path)].extra["archive"]["member_errors"] == 3


def test_zip_traversal_and_symlink(fixture: Get, check: Check, tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "evil.zip",
        {"../../evil.sh": b"#!/bin/sh\n", "bin/tool": fixture("zig_glibc217")},
        symlinks={"bin/link": "../../../root/.ssh/authorized_keys"},
    )
    report = check([path])
    assert "path traversal" in _error(report, f"{path}!../../evil.sh")
    assert "pointing outside the archive" in _error(report, f"{path}!bin/link")
    assert by_path(report)[f"{path}!bin/tool"].status == "pass"


def test_zip_bomb_member_is_not_read(fixture: Get, check: Check, tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", b"\0" * (64 << 20))
        zf.writestr("bin/tool", fixture("zig_glibc217").read_bytes())
    assert path.stat().st_size < 1 << 20
    report = check([path], max_member_size=8 << 20)
    assert "declared size 64 MiB is over --max-member-size 8 MiB" in _error(report, f"{path}!zeros.bin")
    assert by_path(report)[f"{path}!bin/tool"].status == "pass"


@pytest.mark.parametrize("compression", ["gz", "zst"])
def test_unpacked_budget_stops_a_tar_bomb(fixture: Get, check: Check, tmp_path: Path, compression: str) -> None:
    files = {"a/bin/tool": fixture("zig_glibc217"), "a/zeros.bin": b"\0" * (64 << 20), "a/bin/late": fixture("c_dynamic")}
    path = make_tar(tmp_path / f"bomb.tar.{compression}", files, compression=compression)
    assert path.stat().st_size < 1 << 20
    report = check([path], max_unpacked=16 << 20)
    reason = _error(report, str(path))
    assert reason.startswith("stopped after 16 MiB of unpacked data (--max-unpacked-size)")
    assert by_path(report)[f"{path}!a/bin/tool"].status == "pass"  # read before the budget ran out
    assert f"{path}!a/bin/late" not in by_path(report)


def _nest(tmp_path: Path, fixture: Get) -> Path:
    deep = make_tar(tmp_path / "deep.tar", {"bin/app": fixture("c_dynamic")})
    middle = make_zip(tmp_path / "middle.zip", {"deep.tar": deep})
    return make_tar(tmp_path / "outer.tar.gz", {"middle.zip": middle}, compression="gz")


def test_deep_nesting(fixture: Get, check: Check, tmp_path: Path) -> None:
    outer = _nest(tmp_path, fixture)
    report = check([outer], cli={"max-glibc": "2.17"})
    reason = _error(report, f"{outer}!middle.zip!deep.tar")
    assert "tar archive nested more than 1 level deep: not opened (raise --archive-depth)" in reason
    deeper = by_path(check([outer], cli={"max-glibc": "2.17"}, depth=2))
    assert deeper[f"{outer}!middle.zip!deep.tar!bin/app"].status == "fail"
    assert deeper[str(outer)].status == "fail"


def test_self_nesting_chain_is_bounded(fixture: Get, check: Check, tmp_path: Path) -> None:
    current = make_zip(tmp_path / "level0.zip", {"bin/tool": fixture("zig_glibc217")})
    for level in range(1, 30):
        current = make_zip(tmp_path / f"level{level}.zip", {f"level{level - 1}.zip": current})
    report = check([current], depth=3)
    errors = [r for r in report.files if r.status == "error" and "archive" not in r.extra]
    assert len(errors) == 1 and "nested more than 3 levels deep" in (errors[0].reason or "")
    assert errors[0].path.count("!") == 4
    # every enclosing archive shows the error too, so the run's verdict says so
    assert [r.status for r in report.files if "archive" in r.extra] == ["error"] * 4
    assert report.verdict == "error"


def _cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "tar.bz2", "tar.xz", "tar.zst", "zip", "deb", "rpm"])
def test_truncated_streams(fixture: Get, check: Check, tmp_path: Path, kind: str) -> None:
    files: dict[str, Any] = {"usr/bin/app": fixture("c_dynamic"), "usr/bin/tool": fixture("c_static")}
    if kind == "zip":
        path = make_zip(tmp_path / "cut.zip", files)
    elif kind == "deb":
        path = make_deb(tmp_path, "cut", files)
    elif kind == "rpm":
        path = make_rpm(tmp_path, "cut", files, payload="w9.gzdio")
    else:
        path = make_tar(tmp_path / f"cut.{kind}", files, compression=kind.partition(".")[2])
    _cut(path, 0.6)
    good = fixture("zig_glibc217")
    report = check([path, good])
    reason = _error(report, str(path))
    assert any(w in reason for w in ("truncated", "unexpected end", "ended")), reason
    members = [r for r in report.files if r.path.startswith(f"{path}!")]
    assert by_path(report)[str(path)].extra["archive"]["elf_members"] == len(members)  # members read before the cut
    assert by_path(report)[str(good)].status == "pass"  # one bad file never hides the others
    assert report.verdict == "error"


def test_garbage_behind_a_magic_number(check: Check, tmp_path: Path) -> None:
    fake_zip = tmp_path / "fake.zip"
    fake_zip.write_bytes(b"PK\x03\x04" + os.urandom(2000))
    fake_rpm = tmp_path / "fake.rpm"
    fake_rpm.write_bytes(b"\xed\xab\xee\xdb" + b"\0" * 92 + os.urandom(500))
    report = check([fake_zip, fake_rpm])
    assert "corrupt or truncated zip archive" in _error(report, str(fake_zip))
    assert "corrupt rpm signature header" in _error(report, str(fake_rpm))


def test_encrypted_zip_member(fixture: Get, check: Check, tmp_path: Path) -> None:
    if shutil.which("zip") is None:
        pytest.skip("zip (Info-ZIP) is not installed")
    work = tmp_path / "src"
    (work / "bin").mkdir(parents=True)
    shutil.copy(fixture("c_dynamic"), work / "bin" / "secret")
    shutil.copy(fixture("zig_glibc217"), work / "bin" / "open")
    path = tmp_path / "enc.zip"
    subprocess.run(["zip", "-q", "-P", "hunter2", str(path), "bin/secret"], cwd=work, check=True)
    subprocess.run(["zip", "-q", str(path), "bin/open"], cwd=work, check=True)
    report = check([path])
    assert "encrypted member" in _error(report, f"{path}!bin/secret")
    assert by_path(report)[f"{path}!bin/open"].status == "pass"


@pytest.fixture
def temp_watch(scratch_tmp: Path) -> Iterator[list[dict[str, Any]]]:
    """Record, from inside a real inspector hook, what the private temp dir holds while a member is inspected."""
    seen: list[dict[str, Any]] = []

    def watch(raw: Any, facts: Any, data: Any, path: str, scan: Any) -> dict[str, Any]:
        dirs = list(scratch_tmp.iterdir())
        seen.append(
            {
                "path": path,
                "dirs": [d.name for d in dirs],
                "modes": [stat.S_IMODE(d.stat().st_mode) for d in dirs],
                "files": sorted(f.name for d in dirs for f in d.iterdir()),
            }
        )
        return {}

    with extra_inspector(watch):
        yield seen


def test_private_temp_dir_is_used_then_removed(fixture: Get, check: Check, tmp_path: Path, temp_watch: list[dict[str, Any]]) -> None:
    inner = make_zip(tmp_path / "inner.zip", {"lib/plugin": fixture("c_dynamic")})
    path = make_tar(tmp_path / "rel.tar.gz", {"rel/bin/tool": fixture("zig_glibc217"), "rel/inner.zip": inner}, compression="gz")
    check([path], in_memory=0)  # the check fixture asserts the temp dir is empty afterwards
    assert [w["path"] for w in temp_watch] == [f"{path}!rel/bin/tool", f"{path}!rel/inner.zip!lib/plugin"]
    for w in temp_watch:
        assert len(w["dirs"]) == 1 and w["dirs"][0].startswith("static-check-")
        assert w["modes"] == [0o700]
        assert all(name.startswith("member-") for name in w["files"])  # serial names, never member names
    assert len(temp_watch[1]["files"]) == 2  # the spilled nested zip and its ELF member


def test_cli_end_to_end_hostile_run(fixture: Get, tmp_path: Path) -> None:
    """The real command: exit 2, one line per bad member, no traceback, nothing left in TMPDIR or the tree."""
    work = tmp_path / "work"
    dist = work / "dist"
    dist.mkdir(parents=True)
    traversal = dist / "evil.tar.gz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("../../../escaped-by-static-check")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    traversal.write_bytes(raw.getvalue())
    make_tar(dist / "app_1.2_linux_amd64.tar.gz", {"app_1.2/bin/app": fixture("zig_glibc217")}, compression="gz")
    _cut(make_tar(dist / "cut.tar.xz", {"x/bin/app": fixture("c_dynamic")}, compression="xz"), 0.5)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    before = _tree(tmp_path)
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "checker", "--format", "json", "dist/"], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _tree(tmp_path) == before
    assert list(tmpdir.iterdir()) == []
    assert not (tmp_path.parent / "escaped-by-static-check").exists()
    import json

    files = {f["path"]: f for f in json.loads(proc.stdout)["files"]}
    assert files["dist/evil.tar.gz!../../../escaped-by-static-check"]["status"] == "error"
    assert files["dist/app_1.2_linux_amd64.tar.gz!app_1.2/bin/app"]["status"] == "pass"
    assert files["dist/cut.tar.xz"]["status"] == "error"
    assert tempfile.gettempdir() != str(tmpdir)  # the subprocess, not this process, used the private TMPDIR
    assert REPO.is_dir()


def test_without_zstd_support_the_error_says_what_to_install(fixture: Get, tmp_path: Path) -> None:
    """A Python without any zstd module (blocked through the import system) names the missing package."""
    tar = make_tar(tmp_path / "app.tar.zst", {"bin/app": fixture("zig_glibc217")}, compression="zst")
    rpm = make_rpm(tmp_path, "app", {"usr/bin/app": fixture("zig_glibc217")}, payload="w19.zstdio")
    good = fixture("zig_glibc217")
    code = (
        "import sys; sys.modules['zstandard'] = None; sys.modules['compression.zstd'] = None; "
        "from checker.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    args = [sys.executable, "-c", code, "--format", "json", str(tar), str(rpm), str(good)]
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    import json

    files = {f["path"]: f for f in json.loads(proc.stdout)["files"]}
    for path in (tar, rpm):
        assert files[str(path)]["status"] == "error"
        assert files[str(path)]["reason"].startswith("zstd-compressed, and no zstd support is installed (pip install zstandard)")
    assert files[str(good)]["status"] == "pass"


def test_corrupt_zip_member_does_not_hide_the_others(fixture: Get, check: Check, tmp_path: Path) -> None:
    path = make_zip(tmp_path / "damaged.zip", {"bin/app": fixture("c_dynamic"), "bin/tool": fixture("zig_glibc217")})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("bin/app")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + info.compress_size // 2, start + info.compress_size // 2 + 64):
        data[i] ^= 0x5A  # damage the compressed data in the middle of the member
    path.write_bytes(bytes(data))
    report = check([path])
    assert "cannot read member" in _error(report, f"{path}!bin/app")
    assert by_path(report)[f"{path}!bin/tool"].status == "pass"
