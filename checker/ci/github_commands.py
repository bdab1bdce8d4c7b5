"""GitHub workflow commands and file commands: annotations, outputs, summary files.

Workflow commands are lines on stdout (`::error title=...::message`); their data and properties
are escaped as the runner requires, so a path or message can never end a command early or start
a new one. GitHub shows at most 10 error, 10 warning and 10 notice annotations per step (50 per job) and
drops the rest silently, so they are ranked and the last one of a level summarises the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TextIO

from checker.data_files import load
from checker.models import Report

ANNOTATION_CAP = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **props: str) -> str:
    joined = ",".join(f"{k}={escape_property(v)}" for k, v in props.items() if v)
    return f"::{name}{' ' + joined if joined else ''}::{escape_data(message)}"


_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def annotations(report: Report) -> list[str]:
    """Ranked ::error/::warning lines, at most ANNOTATION_CAP per level; the last one of a level
    summarises what did not fit, because GitHub drops the rest silently."""
    rule_order = {rid: i for i, rid in enumerate(_rule_ids())}
    items: list[tuple[str, int, str, str, str]] = []  # level, rank, path, rule, message
    for r in report.files:
        if r.status == "error":
            items.append(("error", -1, r.path, "file-error", f"{r.path}: cannot be checked: {r.reason or 'unknown reason'}"))
        for f in r.findings:
            text = f"{r.path}: {f.message}" + (f" Fix: {f.hint}" if f.hint else "")
            items.append((_LEVEL.get(f.severity, "warning"), rule_order.get(f.rule, 99), r.path, f.rule, text))
    lines = []
    for level in ("error", "warning", "notice"):
        group = sorted((i for i in items if i[0] == level), key=lambda i: (i[1], i[2]))
        shown = group if len(group) <= ANNOTATION_CAP else group[: ANNOTATION_CAP - 1]
        for _, _, path, rule, text in shown:
            lines.append(command(level, text, title=f"static-check {rule}: {path}"))
        rest = group[len(shown) :]
        if rest:
            files = sorted({i[2] for i in rest})
            names = ", ".join(files[:20]) + (f" and {len(files) - 20} more" if len(files) > 20 else "")
            rules = ", ".join(sorted({i[3] for i in rest}))
            text = f"{len(rest)} more {level} findings ({rules}) in: {names}. See the job summary for all of them."
            lines.append(command(level, text, title=f"static-check: {len(rest)} more {level} findings"))
    return lines


def _rule_ids() -> list[str]:
    return list(load("rules.json")["rules"])


def append_file(path: str | None, text: str, out: TextIO) -> None:
    """Append to a runner file (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY); failure is a warning."""
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        print(command("warning", f"{path}: cannot write ({exc.strerror or exc})", title="static-check"), file=out)


def print_untrusted(text: str, out: TextIO) -> None:
    """Print text that may hold file names from the repository (a PR can name a file
    `x\n::error::...`): between stop-commands markers the runner treats no line as a command."""
    token = uuid.uuid4().hex
    print(f"::stop-commands::{token}", file=out)
    print(text, file=out, end="" if text.endswith("\n") else "\n")
    print(f"::{token}::", file=out)


def set_outputs(env: Mapping[str, str], outputs: dict[str, str], out: TextIO) -> None:
    target = env.get("GITHUB_OUTPUT")
    if not target:
        for k, v in outputs.items():
            print(f"static-check output {k}={v}", file=out)
        return
    lines = []
    for k, v in outputs.items():
        if "\n" in v:
            delim = f"ghadelimiter_{uuid.uuid4()}"
            lines.append(f"{k}<<{delim}\n{v}\n{delim}\n")
        else:
            lines.append(f"{k}={v}\n")
    append_file(target, "".join(lines), out)
