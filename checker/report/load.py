"""Read a JSON report back into a Report, treating it as untrusted input.

The two-workflow pattern on GitHub passes the report of a fork's pull request as an artifact to a
privileged workflow, so a hostile PR controls every byte: cap the size, check every type, cut
long strings, and neutralise text that Markdown or GitHub would act on (HTML, @mentions,
control characters, links) before any of it reaches a comment, a summary or the log.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

from checker.models import ElfFacts, FileResult, Finding, Report, Severity, Status

MAX_BYTES = 5 * 1024 * 1024
MAX_FILES = 5000
MAX_STRING = 500
_STATUSES = get_args(Status)
_VERDICTS = ("pass", "fail", "error")
_SEVERITIES = get_args(Severity)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class ReportError(ValueError):
    """The report is not a valid static-check JSON report; one-line reason."""


def clean(text: Any, limit: int = MAX_STRING) -> str:
    """Plain, short, inert text: no control or bidi characters, no HTML, no mentions."""
    s = _CONTROL.sub(" ", str(text))[:limit]
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width space keeps the text as it reads but stops GitHub from making a mention, a
    # Markdown link or image ([x](url), [x]: url) or an autolink (https://..., www.) out of it.
    for token in ("@", "](", "]:", "://", "www."):
        s = s.replace(token, token[0] + "\u200b" + token[1:])
    return s


def _str(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ReportError(f"{where}: expected a string")
    return clean(value)


def _strs(value: Any, where: str, limit: int = 200) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ReportError(f"{where}: expected a list of strings")
    return [clean(v) for v in value[:limit]]


def _choice(value: Any, choices: tuple[str, ...], where: str) -> Any:
    if value not in choices:
        raise ReportError(f"{where}: expected one of {', '.join(choices)}")
    return value


def _elf(data: Any, where: str) -> ElfFacts | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ReportError(f"{where}: expected an object")
    maps: dict[str, dict[str, Any]] = {}
    for key in ("max_versions", "version_needs", "symbols"):
        raw = data.get(key) or {}
        if not isinstance(raw, dict):
            raise ReportError(f"{where}.{key}: expected an object")
        if key == "max_versions":
            maps[key] = {clean(k, 60): _str(v, f"{where}.{key}") for k, v in list(raw.items())[:50]}
        else:
            maps[key] = {clean(k, 100): _strs(v, f"{where}.{key}", 20) for k, v in list(raw.items())[:100]}
    elf_class = data.get("class")
    return ElfFacts(
        elf_class=elf_class if isinstance(elf_class, int) else 0,
        endianness=clean(data.get("endianness", ""), 20),
        machine=clean(data.get("machine", ""), 40),
        type=clean(data.get("type", ""), 40),
        interpreter=_str(data.get("interpreter"), f"{where}.interpreter", optional=True),
        linkage=_str(data.get("linkage"), f"{where}.linkage", optional=True),
        libc=clean(data.get("libc", "unknown"), 40),
        libc_evidence=_strs(data.get("libc_evidence"), f"{where}.libc_evidence", 10),
        needed=_strs(data.get("needed"), f"{where}.needed"),
        soname=_str(data.get("soname"), f"{where}.soname", optional=True),
        rpath=_strs(data.get("rpath"), f"{where}.rpath", 20),
        runpath=_strs(data.get("runpath"), f"{where}.runpath", 20),
        max_versions=maps["max_versions"],
        nonnumeric_versions=_strs(data.get("nonnumeric_versions"), f"{where}.nonnumeric_versions", 50),
        version_needs=maps["version_needs"],
        symbols=maps["symbols"],
        min_kernel=_str(data.get("min_kernel"), f"{where}.min_kernel", optional=True),
        stripped=bool(data.get("stripped")),
        has_section_headers=bool(data.get("has_section_headers", True)),
        flags_1=_strs(data.get("flags_1"), f"{where}.flags_1", 20),
    )


def _finding(data: Any, where: str) -> Finding:
    if not isinstance(data, dict):
        raise ReportError(f"{where}: expected an object")
    rule = _str(data.get("rule"), f"{where}.rule") or ""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,60}", rule):
        raise ReportError(f"{where}.rule: not a rule id")
    return Finding(
        rule=rule,
        severity=_choice(data.get("severity"), _SEVERITIES, f"{where}.severity"),
        message=_str(data.get("message"), f"{where}.message") or "",
        hint=_str(data.get("hint", ""), f"{where}.hint") or "",
    )


def _file(data: Any, where: str) -> FileResult:
    if not isinstance(data, dict):
        raise ReportError(f"{where}: expected an object")
    findings = data.get("findings") or []
    if not isinstance(findings, list):
        raise ReportError(f"{where}.findings: expected a list")
    runs_on = data.get("runs_on")
    not_on = data.get("not_on")
    result = FileResult(
        path=_str(data.get("path"), f"{where}.path") or "",
        status=_choice(data.get("status"), _STATUSES, f"{where}.status"),
        reason=_str(data.get("reason"), f"{where}.reason", optional=True),
        elf=_elf(data.get("elf"), f"{where}.elf"),
        findings=[_finding(f, f"{where}.findings[{i}]") for i, f in enumerate(findings[:100])],
        runs_on=_strs(runs_on, f"{where}.runs_on") if runs_on is not None else None,
        not_on=_strs(not_on, f"{where}.not_on") if not_on is not None else None,
    )
    if isinstance(data.get("portability"), str):
        result.extra["portability"] = clean(data["portability"])
    return result


def report_from_dict(data: Any) -> Report:
    if not isinstance(data, dict):
        raise ReportError("expected a JSON object at the top level")
    tool = data.get("tool")
    if not isinstance(tool, dict) or tool.get("name") != "static-check":
        raise ReportError("not a static-check report (tool.name)")
    files = data.get("files")
    if not isinstance(files, list):
        raise ReportError("files: expected a list")
    if len(files) > MAX_FILES:
        raise ReportError(f"files: more than {MAX_FILES} entries")
    policy = data.get("policy") if isinstance(data.get("policy"), dict) else {}
    report = Report(
        files=[_file(f, f"files[{i}]") for i, f in enumerate(files)],
        policy=_clean_policy(policy),
        tool_version=clean(tool.get("version", "?"), 40),
        verdict=_choice(data.get("verdict"), _VERDICTS, "verdict"),
        notes=_strs(data.get("notes"), "notes", 20),
    )
    return report


def _clean_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """Keep only the keys the summaries print, with inert values."""
    out: dict[str, Any] = {}
    for key in ("target", "libc", "min_kernel"):
        if isinstance(policy.get(key), str):
            out[key] = clean(policy[key], 60)
    if isinstance(policy.get("max_versions"), dict):
        out["max_versions"] = {clean(k, 40): clean(v, 40) for k, v in list(policy["max_versions"].items())[:20]}
    for key in ("allowed_needed", "arch"):
        if isinstance(policy.get(key), list):
            out[key] = [clean(v, 100) for v in policy[key][:50]]
    out["require_static"] = policy.get("require_static") is True
    return out


def load_report(path: str | Path) -> tuple[Report, dict[str, Any]]:
    """Read and validate a report file; also return its raw top-level object (for CI context)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if not p.is_file():
            raise ReportError(f"{path}: not a regular file")
        if size > MAX_BYTES:
            raise ReportError(f"{path}: report is {size} bytes, more than the {MAX_BYTES} allowed")
        raw = p.read_bytes()
    except OSError as exc:
        raise ReportError(f"{path}: cannot read report ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path}: not valid JSON ({exc.__class__.__name__})") from None
    try:
        return report_from_dict(data), data
    except ReportError as exc:
        raise ReportError(f"{path}: {exc}") from None
