"""SARIF 2.1.0 output, validated against the OASIS schema (shipped in the npm package @microsoft/jest-sarif)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from checker.policy import build_policy
from checker.report import FORMATS
from checker.report.sarif import build
from checker.run import check_paths
from tests.github.tools import node_module


@pytest.fixture(scope="module")
def schema():
    path = node_module("@microsoft/jest-sarif") / "lib/schemas/sarif-2.1.0-rtm.5.json"
    return json.loads(path.read_text())


def check(tmp_path, fixture, monkeypatch, **policy):
    dist = tmp_path / "dist"
    dist.mkdir()
    for name in ("c_dynamic", "cxx_iostream", "c_static"):
        (dist / name).write_bytes(fixture(name).read_bytes())
    (dist / "broken").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9)
    (dist / "notes.txt").write_text("not a binary\n")
    monkeypatch.chdir(tmp_path)
    return check_paths(["dist"], build_policy({}, policy))


def test_sarif_is_valid_and_has_one_rule_per_finding_type(tmp_path, fixture, monkeypatch, schema):
    report = check(tmp_path, fixture, monkeypatch, target="centos7", **{"require-static": "true"})
    doc = json.loads(FORMATS["sarif"](report))
    jsonschema.Draft4Validator(schema).validate(doc)
    run = doc["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    found = {f.rule for r in report.files for f in r.findings} | {"file-error"}
    assert sorted(rules) == sorted(found) and len(rules) == len(set(rules))
    expected = sum(len(r.findings) for r in report.files) + sum(1 for r in report.files if r.status == "error")
    assert len(run["results"]) == expected
    for res in run["results"]:
        assert rules[res["ruleIndex"]] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]["artifactLocation"]
        assert loc["uriBaseId"] == "%SRCROOT%" and loc["uri"].startswith("dist/")
    by_file = {res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for res in run["results"]}
    assert {"dist/c_dynamic", "dist/cxx_iostream", "dist/broken"} <= by_file
    assert "dist/notes.txt" not in by_file


def test_sarif_levels_follow_severity(tmp_path, fixture, monkeypatch, schema):
    report = check(tmp_path, fixture, monkeypatch, target="centos7")
    doc = build(report)
    levels = {(res["ruleId"], res["level"]) for res in doc["runs"][0]["results"]}
    severities = {(f.rule, {"error": "error", "warning": "warning", "info": "note"}[f.severity]) for r in report.files for f in r.findings}
    assert levels == severities | {("file-error", "error")}
