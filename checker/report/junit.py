"""JUnit XML report (`artifacts:reports:junit` on GitLab, and any CI test-report viewer).

One test case per file: a failed file has a <failure> whose message lists its findings, an
unreadable file an <error>, a non-ELF or non-program file is <skipped>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from checker.models import FileResult, Report
from checker.report.summary import describe_elf

SUITE = "static-check"
# Characters XML 1.0 cannot carry at all (control characters, lone surrogates from odd file names).
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)


def findings_text(result: FileResult) -> str:
    return "\n".join(f"{f.severity} [{f.rule}] {f.message}\n  fix: {f.hint}" for f in result.findings)


def testcase(result: FileResult) -> ET.Element:
    case = ET.Element("testcase", {"classname": SUITE, "name": clean(result.path), "file": clean(result.path), "time": "0"})
    if result.status == "fail":
        failing = [f for f in result.findings if f.severity != "info"] or result.findings
        # An archive fails through its members (their own test cases) and has no findings: use its summary.
        message = "; ".join(f"[{f.rule}] {f.message}" for f in failing) or result.reason or "failed"
        rules = ",".join(dict.fromkeys(f.rule for f in failing)) or "archive"
        node = ET.SubElement(case, "failure", {"message": clean(message), "type": rules})
        node.text = clean(findings_text(result))
    elif result.status == "error":
        ET.SubElement(case, "error", {"message": clean(result.reason or "unreadable"), "type": "file-error"})
    elif result.status == "skipped":
        ET.SubElement(case, "skipped", {"message": clean(result.reason or "skipped")})
    out = [describe_elf(result.elf)] if result.elf else []
    if result.status == "pass" and result.findings:
        out.append(findings_text(result))
    if result.extra.get("portability"):
        out.append(str(result.extra["portability"]))
    if out:
        ET.SubElement(case, "system-out").text = clean("\n".join(out))
    return case


def render(report: Report) -> str:
    s = report.summary()
    attrs = {"tests": str(s["files"]), "failures": str(s["fail"]), "errors": str(s["error"]), "skipped": str(s["skipped"]), "time": "0"}
    root = ET.Element("testsuites", {"name": SUITE, **attrs})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **attrs})
    for result in report.files:
        suite.append(testcase(result))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
