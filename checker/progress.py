"""Progress on stderr for long runs: one self-rewriting line on a terminal, plain lines in logs.

Automatic only on a terminal and only once a run has taken more than a second, so quick
runs and CI logs stay clean; `--progress` asks for it anywhere (`--no-progress` never).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

TTY_DELAY = 1.0  # seconds before an automatic progress line appears
TTY_REFRESH = 0.1  # at most ten redraws a second
LOG_INTERVAL = 2.0  # seconds between lines when stderr is not a terminal


class ProgressLine:
    """Callable as parallel.Progress (run.check_paths takes it): (files done, total, current path)."""

    def __init__(self, stream: TextIO, *, live: bool, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.live = live  # rewrite one line (terminal) or print lines (log)
        self.delay = delay
        self.clock = clock
        self.start = clock()
        self.last: float | None = None  # when something was last written
        self.shown = False

    def __call__(self, done: int, total: int, path: str) -> None:
        now = self.clock()
        finished = done >= total
        if now - self.start < self.delay and not (finished and self.shown):
            return
        if finished:
            self._finish(total, now)
            return
        interval = TTY_REFRESH if self.live else LOG_INTERVAL
        if self.last is not None and now - self.last < interval:
            return
        self.last = now
        self.shown = True
        text = f"static-check: {done}/{total} files  {path}"
        if self.live:
            self.stream.write("\r" + _fit(text, _columns(self.stream) - 1) + "\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def _finish(self, total: int, now: float) -> None:
        if not self.shown:
            return
        if self.live:
            self.stream.write("\r\x1b[K")  # leave the terminal as it was before the run
        else:
            self.stream.write(f"static-check: {total}/{total} files checked in {now - self.start:.1f}s\n")
        self.stream.flush()
        self.shown = False


def _columns(stream: TextIO) -> int:
    """Width of the terminal behind `stream` (stderr may be a terminal while stdout is not)."""
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns if columns > 0 else 80


def _fit(text: str, width: int) -> str:
    """Shorten from the left of the path so the line never wraps."""
    if width <= 0 or len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :]


def progress_for(stream: TextIO, wanted: bool | None) -> ProgressLine | None:
    """The reporter for `--progress` (True), `--no-progress` (False) or neither (None)."""
    if wanted is False:
        return None
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        return ProgressLine(stream, live=True, delay=0.0 if wanted else TTY_DELAY)
    if wanted:
        return ProgressLine(stream, live=False, delay=0.0)
    return None
