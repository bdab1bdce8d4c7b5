"""The archive flags of the command line: parsed, validated, and passed through to the run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.archives.limits import parse_size, size_text
from checker.cli import main
from tests.archives.builders import make_tar, make_zip

Get = Callable[[str], Path]


@pytest.mark.parametrize(
    ("text", "value"),
    [("1000", 1000), ("4k", 4096), ("512M", 512 << 20), ("2G", 2 << 30), ("2GiB", 2 << 30), ("1 tb", 1 << 40)],
)
def test_parse_size(text: str, value: int) -> None:
    assert parse_size(text) == value


def test_size_text() -> None:
    assert [size_text(n) for n in (512, 8 << 20, 3 << 29, 2 << 30)] == ["512 bytes", "8 MiB", "1.5 GiB", "2 GiB"]


@pytest.mark.parametrize(("flag", "value"), [("--max-member-size", "12Q"), ("--max-unpacked-size", "-1"), ("--archive-depth", "two")])
def test_bad_values_are_usage_errors(flag: str, value: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main([flag, value, str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and value in err and "Traceback" not in err


def test_flags_reach_the_run(fixture: Get, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    inner = make_zip(tmp_path / "inner.zip", {"bin/tool": fixture("zig_glibc217")})
    outer = make_tar(tmp_path / "outer.tar.gz", {"pkg/inner.zip": inner, "pkg/bin/app": fixture("c_dynamic")}, compression="gz")

    assert main(["--format", "json", "--archive-depth", "0", str(outer)]) == 0
    files = {f["path"]: f for f in json.loads(capsys.readouterr().out)["files"]}
    assert files[str(outer)]["archive"]["skipped_reasons"] == {"nested archive (--archive-depth 0)": 1}

    assert main(["--format", "json", "--max-member-size", "4K", str(outer)]) == 2
    files = {f["path"]: f for f in json.loads(capsys.readouterr().out)["files"]}
    assert "over --max-member-size 4 KiB" in files[f"{outer}!pkg/bin/app"]["reason"]

    assert main(["--format", "json", "--max-unpacked-size", "1K", str(outer)]) == 2
    files = {f["path"]: f for f in json.loads(capsys.readouterr().out)["files"]}
    assert files[str(outer)]["reason"].startswith("stopped after 1 KiB of unpacked data (--max-unpacked-size)")
