"""Code Quality and JUnit reports from real binaries: GitLab's documented format, stable fingerprints."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from checker.policy import build_policy
from checker.report import FORMATS, codequality, junit
from checker.run import check_paths
from tests.gitlab.helpers import copy_binary, highest_glibc, python_env
from tests.readelf_truth import truth

SCHEMA = json.loads((Path(__file__).parent / "codequality.schema.json").read_text())


@pytest.fixture(scope="module")
def workspace(fixture, tmp_path_factory) -> Path:
    """A project directory with a dynamic glibc binary, a static one, a truncated ELF and a text file."""
    root = tmp_path_factory.mktemp("project")
    dist = root / "dist"
    copy_binary(fixture("c_fcntl"), dist, "tool")
    copy_binary(fixture("c_static"), dist, "tool-static")
    (dist / "broken").write_bytes(fixture("c_dynamic").read_bytes()[:120])
    (dist / "README.txt").write_text("not a binary\n")
    return root


def run_check(root: Path, monkeypatch, **settings: object):
    monkeypatch.chdir(root)
    return check_paths(["dist"], build_policy({}, dict(settings)))


def test_formats_are_registered():
    assert FORMATS["codequality"] is codequality.render
    assert FORMATS["junit"] is junit.render


def test_codequality_follows_gitlab_format(workspace, monkeypatch):
    report = run_check(workspace, monkeypatch, **{"max-glibc": "2.17", "require-static": True})
    text = codequality.render(report)
    assert not text.startswith("\ufeff")
    issues = json.loads(text)
    jsonschema.validate(issues, SCHEMA)
    by_check = {(i["location"]["path"], i["check_name"]): i for i in issues}
    # dist/tool needs glibc above 2.17 (readelf says which) and is dynamic; the static one passes;
    # the truncated file is reported as not checked; the text file is no issue at all.
    assert set(by_check) == {("dist/tool", "glibc-version"), ("dist/tool", "not-static"), ("dist/broken", "file-error")}
    glibc = by_check[("dist/tool", "glibc-version")]
    assert f"needs glibc {highest_glibc(workspace / 'dist/tool')}" in glibc["description"]
    assert "fcntl64" in glibc["description"]  # readelf: fcntl64@GLIBC_2.28
    assert "fcntl64" in truth(workspace / "dist/tool")["undefined_versioned"]["GLIBC_2.28"]
    assert glibc["severity"] == "major" and glibc["location"]["lines"]["begin"] == 1
    assert by_check[("dist/broken", "file-error")]["severity"] == "critical"
    assert len({i["fingerprint"] for i in issues}) == len(issues)


def test_fingerprints_stable_across_runs_and_limits(workspace, monkeypatch):
    first = json.loads(codequality.render(run_check(workspace, monkeypatch, **{"max-glibc": "2.17"})))
    again = json.loads(codequality.render(run_check(workspace, monkeypatch, **{"max-glibc": "2.17"})))
    # A different limit changes the message, not the problem: the MR widget must not see a new issue.
    other_limit = json.loads(codequality.render(run_check(workspace, monkeypatch, **{"max-glibc": "2.25"})))
    assert [i["fingerprint"] for i in first] == [i["fingerprint"] for i in again]
    assert {i["fingerprint"] for i in first} == {i["fingerprint"] for i in other_limit}
    assert {i["description"] for i in first} != {i["description"] for i in other_limit}


def test_codequality_empty_array_when_everything_passes(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    report = check_paths(["dist/tool-static"], build_policy({}, {"require-static": True}))
    assert report.verdict == "pass"
    assert json.loads(codequality.render(report)) == []


def test_junit_one_testcase_per_file(workspace, monkeypatch):
    report = run_check(workspace, monkeypatch, **{"max-glibc": "2.17", "require-static": True})
    root = ET.fromstring(junit.render(report))
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"dist/tool", "dist/tool-static", "dist/broken", "dist/README.txt"}
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("4", "1", "1", "1")
    failure = cases["dist/tool"].find("failure")
    assert failure is not None
    assert "[glibc-version]" in failure.get("message", "") and "[not-static]" in failure.get("message", "")
    assert "fix:" in (failure.text or "")
    assert cases["dist/tool-static"].find("failure") is None and cases["dist/tool-static"].find("error") is None
    assert cases["dist/broken"].find("error") is not None
    assert cases["dist/README.txt"].find("skipped").get("message") == "not ELF"


def test_junit_survives_control_characters_in_file_names(fixture, tmp_path, monkeypatch):
    odd = copy_binary(fixture("c_fcntl"), tmp_path, "odd\x01name\x7f")
    monkeypatch.chdir(tmp_path)
    report = check_paths([odd.name], build_policy({}, {"max-glibc": "2.17"}))
    root = ET.fromstring(junit.render(report))  # parses: the control character was replaced
    case = root.find("testsuite/testcase")
    assert case is not None and case.get("name") == "odd\ufffdname\x7f"
    jsonschema.validate(json.loads(codequality.render(report)), SCHEMA)


def test_cli_writes_both_reports(workspace, tmp_path):
    cq, xml = tmp_path / "out" / "gl-code-quality.json", tmp_path / "out" / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "checker", "--max-glibc", "2.17", "dist/tool", "--output", f"codequality={cq}", "--output", f"junit={xml}"],
        cwd=workspace,
        env=python_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    jsonschema.validate(json.loads(cq.read_text()), SCHEMA)
    assert [i["check_name"] for i in json.loads(cq.read_text())] == ["glibc-version"]
    assert ET.parse(xml).getroot().find("testsuite/testcase/failure") is not None
