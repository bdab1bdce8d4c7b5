"""Data passed between the layers: facts (inspect), findings (evaluate), results (report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Status = Literal["pass", "fail", "error", "skipped"]

SCHEMA_VERSION = "1.0"


@dataclass
class ElfFacts:
    """Interpreted facts about one ELF file; keys of to_dict() are the JSON contract."""

    elf_class: int
    endianness: str
    machine: str
    type: str
    interpreter: str | None
    linkage: str | None
    libc: str
    libc_evidence: list[str]
    needed: list[str]
    soname: str | None
    rpath: list[str]
    runpath: list[str]
    max_versions: dict[str, str]
    nonnumeric_versions: list[str]
    version_needs: dict[str, list[str]]
    symbols: dict[str, list[str]]
    min_kernel: str | None
    stripped: bool
    has_section_headers: bool
    flags_1: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        # The JSON keys in field order ("class" for elf_class). The lists and dicts are the facts'
        # own, not copies: nothing changes ElfFacts after build_facts, and copying them (asdict's
        # deep copy, later a shallow one) dominated the time of large JSON reports.
        return {
            "class": self.elf_class,
            "endianness": self.endianness,
            "machine": self.machine,
            "type": self.type,
            "interpreter": self.interpreter,
            "linkage": self.linkage,
            "libc": self.libc,
            "libc_evidence": self.libc_evidence,
            "needed": self.needed,
            "soname": self.soname,
            "rpath": self.rpath,
            "runpath": self.runpath,
            "max_versions": self.max_versions,
            "nonnumeric_versions": self.nonnumeric_versions,
            "version_needs": self.version_needs,
            "symbols": self.symbols,
            "min_kernel": self.min_kernel,
            "stripped": self.stripped,
            "has_section_headers": self.has_section_headers,
            "flags_1": self.flags_1,
        }


@dataclass
class Finding:
    rule: str
    severity: Severity
    message: str
    hint: str
    # Machine-readable detail for reports (e.g. {"namespace": "GLIBC", "required": "2.34"}).
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # asdict() without its deep copy of details (JSON values built for this finding; reports only read them).
        return {"rule": self.rule, "severity": self.severity, "message": self.message, "hint": self.hint, "details": self.details}


@dataclass
class FileResult:
    path: str
    status: Status
    reason: str | None = None
    elf: ElfFacts | None = None
    findings: list[Finding] = field(default_factory=list)
    runs_on: list[str] | None = None
    not_on: list[str] | None = None
    # Extra per-file facts owned by inspectors (packer, go, static_glibc_nss, ...).
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "elf": self.elf.to_dict() if self.elf else None,
            "findings": [f.to_dict() for f in self.findings],
            "runs_on": self.runs_on,
            "not_on": self.not_on,
        }
        data.update(self.extra)
        for key in ("packer", "go", "static_glibc_nss"):  # per-file contract keys: null when not applicable
            data.setdefault(key, None)
        return data


@dataclass
class Report:
    files: list[FileResult]
    policy: dict[str, Any]
    tool_version: str
    verdict: Literal["pass", "fail", "error"] = "pass"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        counts = {"files": len(self.files), "pass": 0, "fail": 0, "error": 0, "skipped": 0}
        for f in self.files:
            counts[f.status] += 1
        counts["findings"] = sum(len(f.findings) for f in self.files)
        counts["errors"] = sum(1 for f in self.files for x in f.findings if x.severity == "error")
        counts["warnings"] = sum(1 for f in self.files for x in f.findings if x.severity == "warning")
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "static-check", "version": self.tool_version},
            "verdict": self.verdict,
            "summary": self.summary(),
            "policy": self.policy,
            "notes": self.notes,
            "files": [f.to_dict() for f in self.files],
        }
