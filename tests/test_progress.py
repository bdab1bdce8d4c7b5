"""Progress line: live on a real terminal (a pty), plain lines in logs with --progress, silent otherwise."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

from checker.progress import TTY_DELAY, ProgressLine, progress_for
from tests.cli_run import REPO, read_pty, run_cli

Get = Callable[[str], Path]


class Clock:
    """A clock the test moves by hand, so no assertion depends on real timing."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _pty(columns: int = 200) -> tuple[int, int]:
    """A real pseudo-terminal pair with a window size set, as a terminal emulator would."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    return master, slave


def test_terminal_line_appears_after_a_second_and_is_cleared() -> None:
    master, slave = _pty()
    stream = os.fdopen(slave, "w", encoding="utf-8")
    auto = progress_for(stream, None)
    assert auto is not None and auto.live and auto.delay == TTY_DELAY
    clock = Clock()
    line = ProgressLine(stream, live=True, delay=TTY_DELAY, clock=clock)
    clock.now += 0.5
    line(1, 10, "/bin/early")  # quick so far: nothing
    clock.now += 0.7
    line(3, 10, "/usr/bin/third")
    clock.now += 0.01
    line(4, 10, "/usr/bin/too-soon")  # within the redraw interval: skipped
    clock.now += 0.5
    line(10, 10, "")
    stream.close()
    out = read_pty(master)
    os.close(master)
    assert "early" not in out and "too-soon" not in out
    assert "\rstatic-check: 3/10 files  /usr/bin/third" in out
    assert out.endswith("\r\x1b[K")  # the line is erased before the report is printed


def test_narrow_terminal_shortens_the_path() -> None:
    master, slave = _pty(columns=30)
    stream = os.fdopen(slave, "w", encoding="utf-8")
    ProgressLine(stream, live=True, delay=0.0, clock=Clock())(1, 2, "/a/very/long/directory/name/file")
    stream.close()
    out = read_pty(master)
    os.close(master)
    visible = out.removeprefix("\r").removesuffix("\x1b[K")
    assert visible.startswith("…") and visible.endswith("/directory/name/file") and len(visible) == 29


def test_quick_run_on_terminal_prints_nothing() -> None:
    master, slave = _pty()
    stream = os.fdopen(slave, "w", encoding="utf-8")
    clock = Clock()
    line = ProgressLine(stream, live=True, delay=TTY_DELAY, clock=clock)
    line(0, 2, "/bin/a")
    clock.now += 0.2
    line(2, 2, "")
    stream.write("END")
    stream.close()
    out = read_pty(master)
    os.close(master)
    assert out == "END"


def test_not_a_terminal_is_silent_unless_asked(tmp_path: Path) -> None:
    with open(tmp_path / "log", "w", encoding="utf-8") as log:
        assert progress_for(log, None) is None
        assert progress_for(log, False) is None
        forced = progress_for(log, True)
        assert forced is not None and not forced.live


def test_cli_progress_in_logs(fixture: Get) -> None:
    files = [str(fixture(n)) for n in ("c_dynamic", "c_static", "musl_static")]
    proc = run_cli("--progress", *files)
    assert proc.returncode == 0, proc.stderr
    assert "static-check: 0/3 files  " + files[0] in proc.stderr
    assert "static-check: 3/3 files checked in " in proc.stderr
    assert "\r" not in proc.stderr  # plain lines, fit for CI logs
    quiet = run_cli(*files)
    assert quiet.stderr == ""


def test_cli_progress_on_a_terminal(fixture: Get) -> None:
    master, slave = _pty()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker", "--progress", str(fixture("c_dynamic")), str(fixture("c_static"))],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    out, _ = proc.communicate(timeout=120)
    err = read_pty(master)
    os.close(master)
    assert proc.returncode == 0
    assert "\rstatic-check: 0/2 files  " + str(fixture("c_dynamic")) in err and err.endswith("\r\x1b[K")
    assert b"PASS" in out and b"static-check: " not in out
