"""Markdown for the GitHub job summary and the sticky PR comment.

The summary gets one small table per binary (verdict, linkage, highest GLIBC and the symbols that
need it, NEEDED, where it runs, findings with fixes). The comment is the same, folded and then cut
when it would pass GitHub's 65,536-character limit.
"""

from __future__ import annotations

import re

from checker.models import FileResult, Report
from checker.publish.github import SAFE_BODY, fit_body
from checker.report import markdown
from checker.report.summary import counts_line, glibc_reason, policy_line

SUMMARY_LIMIT = 512 * 1024  # GitHub caps a step summary at 1 MiB; stay well under


def file_section(r: FileResult) -> list[str]:
    """One small table per binary: what it is, what it needs, where it runs, what to fix."""
    cell = markdown.cell
    lines = [f"#### {markdown.ICON[r.status]} `{cell(r.path)}`: {r.status.upper()}", "", "| | |", "|---|---|"]
    if r.elf is None:
        lines.append(f"| {'Contents' if 'archive' in r.extra else 'Reason'} | {cell(r.reason or '')} |")
        return [*lines, ""]
    e = r.elf
    lines.append(f"| Linkage | {cell(' '.join(p for p in (e.linkage or e.type, e.libc, e.machine) if p))} |")
    lines.append(f"| Highest GLIBC (symbols) | {cell(glibc_reason(e)) or '-'} |")
    lines.append(f"| NEEDED | {cell(', '.join(e.needed)) or 'none'} |")
    if r.runs_on is not None:
        lines.append(f"| Runs on | {cell(', '.join(r.runs_on)) or 'none of the known distros'} |")
    if r.not_on:
        lines.append(f"| Does not run on | {cell(', '.join(r.not_on))} |")
    for f in r.findings:
        lines.append(f"| **{f.severity}** `{f.rule}` | {cell(f.message)}<br>_Fix:_ {cell(f.hint)} |")
    return [*lines, ""]


def _heading(report: Report, title: str) -> list[str]:
    """Verdict line and counts, the same on top of the summary and of every comment variant."""
    return [
        f"### {markdown.ICON.get(report.verdict, '')} {title}: {report.verdict.upper()}",
        "",
        f"{counts_line(report)}. Policy: {policy_line(report)}.",
        "",
    ]


def summary_markdown(report: Report, *, title: str = "static-check", detail: bool = True) -> str:
    lines = _heading(report, title)
    lines += [f"> {n}" for n in report.notes]
    checked = [r for r in report.files if r.status != "skipped"]
    skipped = [r for r in report.files if r.status == "skipped"]
    if detail:
        for r in checked:
            lines += file_section(r)
    else:
        lines += ["", markdown.render(report, title=title, max_rows=200).split("\n", 3)[-1]]
    if skipped:
        lines += ["<details><summary>Skipped files</summary>", ""]
        lines += [f"- `{markdown.cell(r.path)}`: {markdown.cell(r.reason or '')}" for r in skipped[:200]]
        if len(skipped) > 200:
            lines.append(f"- ... and {len(skipped) - 200} more")
        lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"


def job_summary(report: Report) -> str:
    """Step summary text: per-binary tables, or one compact table when that would be too long."""
    return fit_body([summary_markdown(report), summary_markdown(report, detail=False)], SUMMARY_LIMIT)


def comment_text(report: Report, run_url: str, key: str, commit: str = "") -> str:
    """Comment body (without the marker): verdict first, details folded when long. The footer names
    the commit checked, since the same comment is edited on every push."""
    head = "\n".join(_heading(report, "static-check")) + "\n"
    foot = "\n---\n<sub>"
    foot += f"commit {commit[:12]} · " if re.fullmatch(r"[0-9a-f]{7,64}", commit) else ""
    foot += f"[Workflow run]({run_url}) · " if run_url else ""
    foot += f"comment key `{markdown.cell(key)}` · updated in place by static-check</sub>\n"
    full = summary_markdown(report, detail=True).split("\n", 4)[-1]
    folded = markdown.render(report, max_rows=100).split("\n", 3)[-1]
    variants = [
        head + full + foot,
        head + "<details><summary>Details</summary>\n\n" + folded + "\n</details>\n" + foot,
        head + folded + foot,
    ]
    return fit_body(variants, SAFE_BODY - 300)
