"""Data passed between the layers: facts (inspect), findings (evaluate), results (report)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Status = Literal["pass", "fail", "error", "skipped"]

SCHEMA_VERSION = "1.0"


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return {k: list(v) if isinstance(v, list) else v for k, v in value.items()}
    return value


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))  # dataclasses.fields() is slow enough to show in big reports


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
        # Same result as asdict() (fields are str/int/bool, lists of str, dicts of str or of
        # lists of str) without its generic deep copy, which dominated large JSON reports.
        data = {name: _copy(getattr(self, name)) for name in _field_names(type(self))}
        return {"class": data.pop("elf_class"), **data}


@dataclass
class Finding:
    rule: str
    severity: Severity
    message: str
    hint: str
    # Machine-readable detail for reports (e.g. {"namespace": "GLIBC", "required": "2.34"}).
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
