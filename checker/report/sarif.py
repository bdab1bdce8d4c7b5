"""SARIF 2.1.0 report, for GitHub code scanning (github/codeql-action/upload-sarif) and other viewers.

One SARIF rule per rule id that appears in the run (ids from checker/data/rules.json), plus
`file-error` for inputs that could not be read. Results are located at the binary's path; a
binary has no source lines, so the region is line 1.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from checker.evaluate import rule_info
from checker.models import FileResult, Report

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/static-check/static-check"
FILE_ERROR = "file-error"
_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


def artifact_location(path: str) -> dict[str, str]:
    """Relative paths stay relative to the checkout (%SRCROOT%); archive members point at the archive."""
    outer = path.split("!", 1)[0]
    posix = outer.replace("\\", "/")
    if posix.startswith("/"):
        return {"uri": "file://" + quote(posix)}
    rel = str(PurePosixPath(posix.removeprefix("./")))
    return {"uri": quote(rel), "uriBaseId": "%SRCROOT%"}


def _rule(rule_id: str) -> dict[str, Any]:
    if rule_id == FILE_ERROR:
        title, help_text, level = "File could not be checked", "The file could not be read or parsed as ELF.", "error"
    else:
        info = rule_info(rule_id)
        title, help_text, level = info["title"], info.get("help") or info["title"], _LEVEL.get(info["severity"], "warning")
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": help_text},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["portability", "elf"]},
    }


def _result(r: FileResult, rule_id: str, level: str, message: str, index: dict[str, int]) -> dict[str, Any]:
    fingerprint = hashlib.sha256(f"{rule_id}\0{r.path}\0{message}".encode()).hexdigest()[:32]
    return {
        "ruleId": rule_id,
        "ruleIndex": index[rule_id],
        "level": level,
        "message": {"text": message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(r.path), "region": {"startLine": 1}}}],
        "partialFingerprints": {"staticCheck/v1": fingerprint},
    }


def build(report: Report) -> dict[str, Any]:
    rule_ids: list[str] = []
    for r in report.files:
        ids = [f.rule for f in r.findings] + ([FILE_ERROR] if r.status == "error" else [])
        rule_ids += [i for i in ids if i not in rule_ids]
    index = {rid: i for i, rid in enumerate(rule_ids)}
    results = []
    for r in report.files:
        for f in r.findings:
            text = f"{r.path}: {f.message}" + (f" Fix: {f.hint}" if f.hint else "")
            results.append(_result(r, f.rule, _LEVEL.get(f.severity, "warning"), text, index))
        if r.status == "error":
            results.append(_result(r, FILE_ERROR, "error", f"{r.path}: {r.reason or 'cannot be checked'}", index))
    driver = {
        "name": "static-check",
        "version": report.tool_version,
        "semanticVersion": report.tool_version,
        "informationUri": INFO_URI,
        "rules": [_rule(rid) for rid in rule_ids],
    }
    run = {
        "tool": {"driver": driver},
        "automationDetails": {"id": "static-check/"},
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The checked-out repository (workspace)."}}},
        "results": results,
        "properties": {"verdict": report.verdict, "policy": report.policy},
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    return json.dumps(build(report), indent=2) + "\n"
