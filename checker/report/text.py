"""Terminal output: one verdict line per file, its findings, then a summary."""

from __future__ import annotations

from checker.models import Report
from checker.report.summary import counts_line, describe_elf, glibc_reason, policy_line, status_label

_COLORS = {"PASS": "32", "FAIL": "31", "ERROR": "31;1", "SKIP": "90", "error": "31", "warning": "33", "info": "36"}


def render(report: Report, *, color: bool = False, verbose: bool = False) -> str:
    def paint(text: str, key: str) -> str:
        return f"\033[{_COLORS[key]}m{text}\033[0m" if color else text

    lines: list[str] = []
    skipped = [r for r in report.files if r.status == "skipped"]
    for r in report.files:
        if r.status == "skipped" and not verbose and len(skipped) > 20:
            continue
        label = paint(f"{status_label(r):<5}", status_label(r))
        if r.elf is None or r.status in ("skipped", "error"):
            lines.append(f"{label} {printable(r.path)}  ({printable(r.reason or '')})")
            continue
        packer = r.extra.get("packer")
        packed = f"  (packed with {packer['name'].upper()}; headers of the unpacker stub)" if packer else ""
        lines.append(f"{label} {printable(r.path)}  {describe_elf(r.elf)}{packed}")
        reason = glibc_reason(r.elf)
        # The glibc-version finding already names these symbols; repeat them only when it is absent.
        explained = any(f.rule == "glibc-version" for f in r.findings)
        if reason and (r.findings or verbose) and not explained:
            lines.append(f"      highest: {reason}")
        for f in r.findings:
            lines.append(f"      {paint(f.severity, f.severity)} [{f.rule}] {f.message}")
            lines.append(f"        fix: {f.hint}")
        portability = r.extra.get("portability")
        if portability and (r.findings or verbose or r.status == "pass"):
            lines.append(f"      {portability}")
    if len(skipped) > 20 and not verbose:
        reasons: dict[str, int] = {}
        for r in skipped:
            reasons[r.reason or ""] = reasons.get(r.reason or "", 0) + 1
        top = ", ".join(f"{n} {why}" for why, n in sorted(reasons.items(), key=lambda x: -x[1])[:5])
        lines.append(f"SKIP  {len(skipped)} files not checked ({top}); --verbose lists them")
    lines.append("")
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append(f"policy: {policy_line(report)}")
    verdict = report.verdict.upper()
    lines.append(f"{paint(verdict, {'PASS': 'PASS', 'FAIL': 'FAIL', 'ERROR': 'ERROR'}[verdict])}: {counts_line(report)}")
    return "\n".join(lines) + "\n"


def printable(text: str) -> str:
    """Escape control characters (a newline in a file name must not split a verdict line)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
