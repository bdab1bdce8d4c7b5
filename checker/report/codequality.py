"""GitLab Code Quality report (`artifacts:reports:codequality`): a JSON array of issues.

GitLab reads description, check_name, fingerprint, severity and location (path + lines.begin) and
ignores the other Code Climate fields. The MR widget compares fingerprints with the target branch's
report, so a fingerprint must stay the same across runs while the problem stays the same: it hashes
the rule, the file and the namespace a version rule is about, never the message (which lists symbols).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from checker.models import FileResult, Finding, Report

# Our severities -> GitLab's info|minor|major|critical|blocker.
SEVERITY = {"error": "major", "warning": "minor", "info": "info"}
# check_name for a file that could not be read or parsed (no rule id: it is not a policy finding).
FILE_ERROR = "file-error"
FILE_ERROR_SEVERITY = "critical"


def report_path(path: str) -> str:
    """Code Quality wants paths relative to the project: strip ./ and the working directory."""
    if os.path.isabs(path):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            return rel
        return path
    return path.removeprefix("./")


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(("static-check", *parts)).encode("utf-8", "surrogateescape")).hexdigest()


def finding_issue(result: FileResult, f: Finding) -> dict[str, Any]:
    path = report_path(result.path)
    key = str(f.details.get("namespace", ""))
    return {
        "type": "issue",
        "check_name": f.rule,
        "description": f"{path}: {f.message}. Fix: {f.hint}",
        "categories": ["Compatibility"],
        "severity": SEVERITY.get(f.severity, "major"),
        "fingerprint": fingerprint(f.rule, path, key),
        "location": {"path": path, "lines": {"begin": 1}},
    }


def error_issue(result: FileResult) -> dict[str, Any]:
    path = report_path(result.path)
    return {
        "type": "issue",
        "check_name": FILE_ERROR,
        "description": f"{path}: not checked: {result.reason or 'unreadable'}",
        "categories": ["Bug Risk"],
        "severity": FILE_ERROR_SEVERITY,
        "fingerprint": fingerprint(FILE_ERROR, path),
        "location": {"path": path, "lines": {"begin": 1}},
    }


def issues(report: Report) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for result in report.files:
        items = [error_issue(result)] if result.status == "error" else [finding_issue(result, f) for f in result.findings]
        for item in items:
            # Fingerprints must be unique in one report; a repeat gets a counter, in a stable order.
            base, n = item["fingerprint"], 1
            while item["fingerprint"] in seen:
                n += 1
                item["fingerprint"] = fingerprint(base, str(n))
            seen.add(item["fingerprint"])
            out.append(item)
    return out


def render(report: Report) -> str:
    # ensure_ascii keeps odd file names (undecodable bytes) valid; no BOM, which GitLab rejects.
    return json.dumps(issues(report), indent=2) + "\n"
