"""Short phrases shared by the human-readable formats."""

from __future__ import annotations

from checker.evaluate import IMPLIED_GLIBC, effective_glibc
from checker.models import ElfFacts, FileResult, Report
from checker.versions import parse_version, version_text


def describe_elf(facts: ElfFacts) -> str:
    """'dynamic glibc x86_64, needs GLIBC 2.34' style one-liner."""
    parts = [facts.linkage or facts.type, facts.libc if facts.libc != "unknown" else "", facts.machine]
    glibc = effective_glibc(facts)
    if glibc:
        parts.append(f"needs glibc {version_text(glibc)}")
    return " ".join(p for p in parts if p)


def glibc_reason(facts: ElfFacts) -> str:
    """Which symbols pull in the highest GLIBC version: 'GLIBC_2.34: __libc_start_main, ...'."""
    top = facts.max_versions.get("GLIBC")
    # GLIBC_ABI_DT_RELR binds no symbol but raises the floor to 2.36: name it first when it is the highest need.
    relr = "; ".join(
        f"{name} (glibc {version_text(floor)}+)"
        for name in facts.nonnumeric_versions
        if (floor := IMPLIED_GLIBC.get(name)) and not (top and parse_version(top) >= floor)
    )
    if not top:
        return relr
    name = f"GLIBC_{top}"
    symbols = facts.symbols.get(name, [])
    text = f"{name}: {', '.join(symbols[:8])}{' ...' if len(symbols) > 8 else ''}" if symbols else name
    return f"{relr}; {text}" if relr else text


def policy_line(report: Report) -> str:
    p = report.policy
    bits = []
    if p.get("target"):
        bits.append(f"target {p['target']}")
    for ns, v in (p.get("max_versions") or {}).items():
        bits.append(f"{ns} <= {v}")
    if p.get("require_static"):
        bits.append("static required")
    if p.get("allowed_needed") is not None:
        bits.append(f"NEEDED in [{', '.join(p['allowed_needed'])}]")
    if p.get("arch"):
        bits.append(f"arch {', '.join(p['arch'])}")
    if p.get("libc"):
        bits.append(f"libc {p['libc']}")
    if p.get("min_kernel"):
        bits.append(f"kernel {p['min_kernel']}")
    return "; ".join(bits) if bits else "no limits set"


def counts_line(report: Report) -> str:
    s = report.summary()
    return (
        f"{s['files']} file{'' if s['files'] == 1 else 's'}: {s['pass']} passed, {s['fail']} failed, {s['error']} errors, "
        f"{s['skipped']} skipped; {s['errors']} error and {s['warnings']} warning findings"
    )


def status_label(result: FileResult) -> str:
    return {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skipped": "SKIP"}[result.status]
