"""Run the real static-check command line in a subprocess, as users and CI do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m checker ARGS`; asserts that no Python traceback ever reaches the user."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "checker", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
    )
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    return proc


def read_pty(fd: int) -> str:
    """Everything written to a pseudo-terminal until its other side closes."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO once the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")
