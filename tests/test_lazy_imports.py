"""One small binary imports only what its run needs; FORMATS still hands out the real renderers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.report import FORMATS, junit, sarif, text
from tests.cli_run import REPO

Get = Callable[[str], Path]

_PROBE = """
import sys
from checker.cli import main
code = main(sys.argv[1:])
heavy = ("xml.etree.ElementTree", "requests", "yaml", "elftools", "checker.archives.check", "checker.report.sarif")
print(",".join(m for m in heavy if m in sys.modules))
raise SystemExit(code)
"""


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_one_binary_loads_no_heavy_module(fixture: Get, fmt: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, "--format", fmt, "--no-progress", str(fixture("c_dynamic"))],
        cwd=tmp_path,  # no .static-check.yml here: yaml stays unloaded
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "", f"imported: {proc.stdout.splitlines()[-1]}"


def test_formats_are_the_real_renderers() -> None:
    assert FORMATS["junit"] is junit.render and FORMATS["sarif"] is sarif.render and FORMATS["text"] is text.render
    for copy in (dict(FORMATS), {**FORMATS}, FORMATS.copy(), dict(FORMATS.items())):
        assert copy == {name: FORMATS[name] for name in FORMATS}
        assert all(callable(render) for render in copy.values())
    assert FORMATS.get("nope") is None and FORMATS.get("json") is FORMATS["json"]
