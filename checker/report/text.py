"""Terminal output: one verdict line per file, its findings, then a summary."""

from __future__ import annotations

from checker.models import FileResult, Report
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
        if verbose:
            lines.extend(f"      {fact}" for fact in facts_lines(r))
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


def facts_lines(r: FileResult) -> list[str]:
    """What `file` and `ldd` do not say: the libc of a static file and why, and the Go build."""
    out = []
    elf = r.elf
    if elf is not None and elf.linkage in ("static", "static-pie") and elf.libc_evidence:
        flavour = {"glibc": "static glibc", "musl": "static musl", "none": "no C library"}.get(elf.libc, elf.libc)
        out.append(f"libc: {flavour} ({'; '.join(elf.libc_evidence)})")
    go = r.extra.get("go")
    if go:
        if go.get("toolchain") == "gccgo":
            out.append(f"go: gccgo program ({'; '.join(go.get('evidence') or [])})")
        elif go.get("version"):
            cgo = {True: "1", False: "0"}.get(go.get("cgo_enabled"), "unknown")
            bits = [go["version"], f"CGO_ENABLED={cgo}"]
            bits += [f"-tags {','.join(go['tags'])}"] if go.get("tags") else []
            bits += [f"-ldflags {go['ldflags']}"] if go.get("ldflags") else []
            bits += [f"main {go['path']}"] if go.get("path") else []
            out.append("go: " + ", ".join(bits))
        else:
            out.append(f"go: Go program, build info removed (found by {'; '.join(go.get('evidence') or ['its runtime'])})")
    return [printable(line) for line in out]
