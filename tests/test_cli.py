"""The static-check command line: formats, --output, colour, exit codes, skip reasons."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.cli import build_parser
from tests.cli_run import REPO, read_pty, run_cli

Get = Callable[[str], Path]


@pytest.fixture
def tree(fixture: Get, tmp_path: Path) -> Path:
    """A small release directory: one glibc 2.34 binary, one static, and non-ELF files."""
    root = tmp_path / "dist"
    root.mkdir()
    shutil.copy(fixture("c_pthread"), root / "app")
    shutil.copy(fixture("c_static"), root / "tool")
    shutil.copy(fixture("script_sh"), root / "run.sh")
    shutil.copy(fixture("empty_file"), root / "empty")
    shutil.copy(fixture("pe_stub"), root / "setup.exe")
    shutil.copy(fixture("text_file"), root / "README")
    return root


def test_exit_0_when_everything_passes(tree: Path) -> None:
    proc = run_cli("--max-glibc", "2.34", str(tree))
    assert proc.returncode == 0
    assert "PASS" in proc.stdout and proc.stderr == ""


def test_exit_1_on_a_policy_violation_with_the_cause(tree: Path) -> None:
    proc = run_cli("--target", "centos7", str(tree))
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    app_line = next(line for line in lines if line.startswith("FAIL") and line.split()[1].endswith("/app"))
    assert "needs glibc 2.34" in app_line
    assert any("[glibc-version]" in line and "pthread_create" in line for line in lines)
    assert any("fix:" in line and "zig cc -target x86_64-linux-gnu.2.17" in line for line in lines)
    assert any(line.strip().startswith("runs on:") and "not on:" in line and "CentOS 7" in line for line in lines)
    assert lines[-1].startswith("FAIL:")


def test_non_elf_files_are_listed_with_reasons(tree: Path) -> None:
    proc = run_cli("--format", "json", str(tree))
    files = {Path(f["path"]).name: f for f in json.loads(proc.stdout)["files"]}
    assert {n: (f["status"], f["reason"]) for n, f in files.items() if f["status"] == "skipped"} == {
        "run.sh": ("skipped", "shell script"),
        "empty": ("skipped", "empty"),
        "setup.exe": ("skipped", "Windows PE"),
        "README": ("skipped", "not ELF"),
    }
    text = run_cli(str(tree)).stdout
    assert "SKIP  " in text and "(shell script)" in text and "(Windows PE)" in text


def test_no_match_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(str(tmp_path / "nothing" / "*.so"))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("static-check: error: no files matched") and len(proc.stderr.strip().splitlines()) == 1
    assert run_cli("--allow-empty", str(tmp_path / "nothing" / "*.so")).returncode == 0


def test_missing_path_is_an_error_not_a_silent_skip(fixture: Get, tmp_path: Path) -> None:
    proc = run_cli("--format", "json", str(fixture("c_static")), str(tmp_path / "missing"))
    assert proc.returncode == 2
    files = json.loads(proc.stdout)["files"]
    assert [f["status"] for f in files] == ["pass", "error"] and files[1]["reason"] == "no such file or directory"


def test_no_arguments_is_a_usage_error() -> None:
    proc = run_cli()
    assert proc.returncode == 2 and "no PATH_OR_GLOB given" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--max-glibc", "2.x"],
        ["--target", "plan9"],
        ["--output", "yaml=out.yml"],
        ["--output", "json"],
        ["--config", "/nonexistent/static-check.yml"],
        ["--format", "xml"],
        ["--max-version", "GLIBCXX"],
    ],
)
def test_bad_flags_exit_2_with_one_line(fixture: Get, args: list[str]) -> None:
    proc = run_cli(*args, str(fixture("c_static")))
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and proc.stdout == ""


def test_json_and_markdown_on_stdout(fixture: Get) -> None:
    path = str(fixture("c_exp"))
    data = json.loads(run_cli("--format", "json", "--max-glibc", "2.28", path).stdout)
    assert data["verdict"] == "fail" and data["files"][0]["findings"][0]["rule"] == "glibc-version"
    md = run_cli("--format", "markdown", "--max-glibc", "2.28", path).stdout
    assert md.startswith("### static-check: FAIL") and "| Verdict | File |" in md and "`glibc-version`" in md and "exp" in md


def test_output_writes_several_formats_at_once(fixture: Get, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    proc = run_cli(
        "--max-glibc",
        "2.28",
        "--output",
        f"json={out / 'r.json'}",
        "--output",
        f"markdown={out / 'r.md'}",
        "--output",
        f"text={out / 'r.txt'}",
        str(fixture("c_exp")),
    )
    assert proc.returncode == 1
    assert json.loads((out / "r.json").read_text())["verdict"] == "fail"
    assert (out / "r.md").read_text().startswith("### static-check: FAIL")
    assert "\033[" not in (out / "r.txt").read_text() and "FAIL" in (out / "r.txt").read_text()


def test_same_format_on_stdout_and_in_files_is_the_same_report(fixture: Get, tmp_path: Path) -> None:
    a, b = tmp_path / "a.sarif", tmp_path / "b.sarif"
    proc = run_cli("--max-glibc", "2.28", "--format", "sarif", "--output", f"sarif={a}", "--output", f"sarif={b}", str(fixture("c_exp")))
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["runs"][0]["results"]
    assert a.read_text() == b.read_text() == proc.stdout


def test_colour_only_when_asked_or_on_a_tty(fixture: Get) -> None:
    path = str(fixture("c_static"))
    assert "\033[" not in run_cli(path).stdout  # a pipe is not a TTY
    assert "\033[32mPASS" in run_cli("--color", path).stdout
    assert "\033[" not in run_cli("--no-color", path).stdout


def test_fail_on(fixture: Get) -> None:
    path = str(fixture("c_dynamic"))
    cfg_args = ["--require-static"]
    assert run_cli(*cfg_args, path).returncode == 1
    assert run_cli(*cfg_args, "--fail-on", "never", path).returncode == 0
    assert run_cli(*cfg_args, "--ignore", "not-static", path).returncode == 0


def test_config_file_is_picked_up_from_the_working_directory(fixture: Get, tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    shutil.copy(fixture("lib_runpath"), tmp_path / "lib" / "libfoo.so.1")
    shutil.copy(fixture("c_static"), tmp_path / "app")
    (tmp_path / ".static-check.yml").write_text(
        "require-static: true\noverrides:\n  - paths: ['lib/*.so*']\n    require-static: false\n", encoding="utf-8"
    )
    assert run_cli("app", "lib", cwd=tmp_path).returncode == 0
    (tmp_path / ".static-check.yml").write_text("require-static: true\n", encoding="utf-8")
    assert run_cli("app", "lib", cwd=tmp_path).returncode == 1
    (tmp_path / "other.yml").write_text("max-glibc: [oops\n", encoding="utf-8")
    proc = run_cli("--config", "other.yml", "app", cwd=tmp_path)
    assert proc.returncode == 2 and "other.yml" in proc.stderr and "invalid YAML" in proc.stderr


def test_list_targets_and_version() -> None:
    proc = run_cli("--list-targets")
    assert proc.returncode == 0 and "centos7" in proc.stdout and "alpine" in proc.stdout
    assert run_cli("--version").stdout.startswith("static-check ")


def test_no_policy_note(fixture: Get) -> None:
    proc = run_cli(str(fixture("c_dynamic")))
    assert proc.returncode == 0 and "note: no limit was set" in proc.stdout


def test_readme_documents_every_flag() -> None:
    """The README's Command line section names every flag of `static-check --help`."""
    flags = {opt for action in build_parser()._actions for opt in action.option_strings}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("\n## ", 1)[0]
    missing = [f for f in flags if f.startswith("--") and f"`{f}" not in section and f not in ("--help",)]
    assert not missing, f"README 'Command line' does not document: {missing}"


def test_colour_by_default_on_a_terminal(fixture: Get) -> None:
    """stdout on a pseudo-terminal gets colour without --color; NO_COLOR turns it off."""
    import os
    import pty
    import subprocess
    import sys

    def on_tty(env_extra: dict[str, str]) -> str:
        leader, follower = pty.openpty()
        env = {**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "PYTHONPATH": str(REPO), **env_extra}
        proc = subprocess.Popen([sys.executable, "-m", "checker", str(fixture("c_static"))], stdout=follower, stderr=follower, env=env)
        os.close(follower)
        text = read_pty(leader)
        proc.wait()
        os.close(leader)
        return text

    assert "\033[32mPASS" in on_tty({})
    assert "\033[" not in on_tty({"NO_COLOR": "1"})


def test_newline_in_a_file_name_stays_on_one_line(fixture: Get, tmp_path: Path) -> None:
    (tmp_path / "evil\nFAIL  name").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(20))
    proc = run_cli(str(tmp_path))
    (line,) = [ln for ln in proc.stdout.splitlines() if "evil" in ln]
    assert line.startswith("ERROR ") and "evil\\nFAIL  name" in line and "truncated" in line


def test_unwritable_output_is_a_one_line_error(fixture: Get, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory", encoding="utf-8")
    proc = run_cli("--output", f"json={blocker / 'r.json'}", str(fixture("c_static")))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("static-check: error: ") and "cannot write report" in line and str(blocker) in line
    assert blocker.read_text(encoding="utf-8") == "not a directory"  # nothing of the user's is touched
