"""Markdown report: used for files, the GitHub job summary and PR/MR comments."""

from __future__ import annotations

from checker.models import FileResult, Report
from checker.report.summary import counts_line, glibc_reason, policy_line

ICON = {"pass": "✅", "fail": "❌", "error": "⚠️", "skipped": "➖"}  # by status/verdict; the GitHub summary uses them too


def cell(text: str) -> str:
    """Escape text for a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "'")


def file_row(r: FileResult) -> str:
    if r.elf is None or r.status == "skipped":
        return f"| {ICON[r.status]} {r.status} | `{cell(r.path)}` | {cell(r.reason or '')} | | | |"
    e = r.elf
    needed = ", ".join(e.needed) or "none"
    return (
        f"| {ICON[r.status]} {r.status} | `{cell(r.path)}` | {e.linkage or e.type}, {e.libc}, {e.machine} "
        f"| {cell(glibc_reason(e)) or '-'} | {cell(needed)} | {cell(r.extra.get('portability', '') or '-')} |"
    )


def findings_block(r: FileResult) -> list[str]:
    lines = []
    for f in r.findings:
        lines.append(f"- **{f.severity}** `{f.rule}` in `{cell(r.path)}`: {f.message}  ")
        lines.append(f"  _Fix:_ {f.hint}")
    return lines


def render(report: Report, *, title: str = "static-check", max_rows: int | None = None) -> str:
    lines = [f"### {title}: {report.verdict.upper()}", "", f"{counts_line(report)}. Policy: {policy_line(report)}.", ""]
    for note in report.notes:
        lines.append(f"> {note}")
    rows = [r for r in report.files if r.status != "skipped"] + [r for r in report.files if r.status == "skipped"]
    lines += ["", "| Verdict | File | Linkage | Highest GLIBC (symbols) | NEEDED | Portability |", "|---|---|---|---|---|---|"]
    shown = rows if max_rows is None else rows[:max_rows]
    lines += [file_row(r) for r in shown]
    if len(shown) < len(rows):
        lines.append(f"| | _{len(rows) - len(shown)} more files not shown_ | | | | |")
    problems = [r for r in report.files if r.findings]
    if problems:
        lines += ["", "#### Findings", ""]
        for r in problems:
            lines += findings_block(r)
    return "\n".join(lines) + "\n"
