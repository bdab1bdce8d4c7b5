"""The fork-safe two-workflow pattern (report input), annotation caps and size limits."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.fakeapi.github import MAX_BODY
from tests.github.conftest import HEAD_SHA, PR, READ_ONLY, REPO, Action
from tests.github.test_action_comment import ours


def doc(**fields) -> bytes:
    return json.dumps({"tool": {"name": "static-check"}, **fields}).encode()


def workflow_run_event(head_sha: str = HEAD_SHA) -> dict:
    return {"action": "completed", "workflow_run": {"id": 99, "event": "pull_request", "head_sha": head_sha, "pull_requests": []}}


@pytest.fixture
def fork_report(fixture, action: Action, api) -> dict:
    """First workflow: a fork PR checked with a read-only token; returns its JSON report."""
    action.add(fixture("c_dynamic"), "dist/app")
    run = action.run(event=action.pr_event(fork=True), token=READ_ONLY, binaries="dist/*", target="centos7")
    assert run.returncode == 1 and api.comments_on(REPO, PR) == []
    api.log.clear()  # the tests below look at the second workflow's calls only
    return json.loads((action.workspace / run.outputs["report"]).read_text())


def second_workflow(tmp_path, api, report: dict | bytes, name: str = "commenter", **inputs):
    """Second workflow: a fresh workspace holding only the downloaded artifact."""
    (tmp_path / name).mkdir()
    action = Action(tmp_path / name, api)
    artifact = action.workspace / "static-check-report" / "report.json"
    artifact.parent.mkdir()
    artifact.write_bytes(report if isinstance(report, bytes) else json.dumps(report).encode())
    inputs.setdefault("report", "static-check-report/report.json")
    return action.run("workflow_run", event=inputs.pop("event", workflow_run_event()), **inputs)


def test_workflow_run_comments_on_the_pr_named_in_the_report(tmp_path, api, fork_report):
    api.pulls[(REPO, PR)] = {"number": PR, "head": {"sha": HEAD_SHA}}
    run = second_workflow(tmp_path, api, fork_report)
    assert run.returncode == 0, run.stdout
    mine = ours(api)
    assert len(mine) == 1 and "static-check: FAIL" in mine[0]["body"] and "`dist/app`" in mine[0]["body"]
    assert f"commit {HEAD_SHA[:12]}" in mine[0]["body"]
    assert run.outputs["verdict"] == "fail" and run.outputs["report"] == "static-check-report/report.json"
    assert "#### ❌ `dist/app`" in run.summary
    # Sticky across re-runs of the second workflow too.
    second_workflow(tmp_path, api, fork_report, name="rerun")
    assert len(ours(api)) == 1
    # Every call, the PR lookup that guards the comment included, asks for GitHub's media type and API version.
    assert api.log and api.requests_to("GET", rf"/repos/{REPO}/pulls/{PR}")
    assert all(r.header("Accept") == "application/vnd.github+json" and r.header("X-GitHub-Api-Version") for r in api.log)


def test_report_naming_another_pr_is_refused(tmp_path, api, fork_report):
    api.pulls[(REPO, PR)] = {"number": PR, "head": {"sha": "f" * 40}}
    run = second_workflow(tmp_path, api, fork_report)
    assert run.returncode == 0
    assert "whose head is not the commit the run built" in run.stdout
    assert api.comments_on(REPO, PR) == [] and api.requests_to("POST") == []


def test_hostile_report_text_is_neutralised(tmp_path, api, fork_report):
    api.pulls[(REPO, PR)] = {"number": PR, "head": {"sha": HEAD_SHA}}
    evil = "dist/<img src=x onerror=alert(1)> @octo/admins\n::set-output name=verdict::pass\n<!-- static-check:sticky key=other -->"
    fork_report["files"][0]["path"] = evil
    fork_report["files"][0]["findings"][0]["message"] = "<script>alert(1)</script> cc @everyone"
    fork_report["files"][0]["findings"][0]["hint"] = "[approve here](https://evil.example/x) ![](http://t.example/p.gif) www.evil.example"
    run = second_workflow(tmp_path, api, fork_report)
    body = ours(api)[0]["body"]
    assert "<img" not in body and "<script>" not in body and "&lt;img" in body
    assert "@octo/admins" not in body and "@everyone" not in body
    assert "](" not in body.replace("](https://github.example/", "") and "://evil" not in body and "www.evil" not in body
    assert "approve here" in body  # the text itself is kept
    assert len(re.findall(r"<!-- static-check:sticky", body)) == 1
    assert not any(line.startswith("::set-output") for line in run.stdout.splitlines())
    assert run.outputs["verdict"] == "fail"
    assert "<img" not in run.summary


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b" " * (5 * 1024 * 1024 + 1) + b"{}", "more than the 5242880 allowed"),
        (json.dumps({"tool": {"name": "other"}, "files": []}).encode(), "not a static-check report"),
        (json.dumps({"tool": {"name": "static-check"}, "verdict": "pass", "files": "x"}).encode(), "files: expected a list"),
        (
            json.dumps({"tool": {"name": "static-check"}, "verdict": "pass", "files": [{"path": 1, "status": "pass"}]}).encode(),
            "files[0].path",
        ),
        (json.dumps({"tool": {"name": "static-check"}, "verdict": "maybe", "files": []}).encode(), "verdict: expected one of"),
    ],
)
def test_invalid_reports_are_rejected_in_one_line(tmp_path, api, content, reason):
    run = second_workflow(tmp_path, api, content)
    assert run.returncode == 2
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error title=static-check%3A invalid report::static-check-report/report.json: ")
    assert reason in lines[0]
    assert "Traceback" not in run.stderr and api.log == []


def test_annotations_are_capped_per_level_and_summarise_the_rest(fixture, action: Action, api):
    for i in range(25):
        action.add(fixture("c_dynamic"), f"dist/app{i:02d}")
    run = action.run(binaries="dist/*", target="centos7", comment="never")
    report = json.loads((action.workspace / run.outputs["report"]).read_text())
    errors = sum(1 for f in report["files"] for x in f["findings"] if x["severity"] == "error")
    assert errors >= 25
    lines = [a for a in run.annotations if a.startswith("::error")]
    assert len(lines) == 10
    assert all("title=static-check glibc-version%3A dist/app0" in a for a in lines[:9])  # ranked: rule, then path
    assert f"{errors - 9} more error findings" in lines[-1] and "dist/app24" in lines[-1]
    assert not any(a.startswith("::warning") for a in run.annotations)


def test_notices_are_capped_too(fixture, action: Action, api):
    # GitHub also shows at most 10 notice annotations per step (actions/toolkit docs/problem-matchers.md).
    for i in range(12):
        action.add(fixture("go_cgo"), f"dist/go{i:02d}")
    run = action.run(binaries="dist/*", max_glibc="9.99", comment="never")
    notices = [a for a in run.annotations if a.startswith("::notice")]
    assert run.returncode == 0 and len(notices) == 10
    assert "3 more notice findings (go-cgo)" in notices[-1] and "dist/go11" in notices[-1]


def test_comment_and_summary_stay_under_githubs_limits(tmp_path, api, fork_report):
    api.pulls[(REPO, PR)] = {"number": PR, "head": {"sha": HEAD_SHA}}
    one = fork_report["files"][0]
    fork_report["files"] = [dict(one, path=f"dist/very/long/directory/name/for/binary-{i:04d}") for i in range(1500)]
    fork_report["summary"]["files"] = 1500
    run = second_workflow(tmp_path, api, fork_report)
    body = ours(api)[0]["body"]  # the fake answers 422 above the limit, so it was accepted
    assert len(body) <= MAX_BODY
    assert "cut to fit GitHub's comment size limit" in body
    assert body.count("<details") == body.count("</details>")
    assert len(run.summary.encode()) < 1024 * 1024


def test_limits_hold_in_bytes_for_non_ascii_names(tmp_path, api, fork_report):
    """GitHub's error says "characters" but measured limits differ by encoding; the step summary cap
    is 1 MiB of bytes. Names in CJK take 3 bytes a character in UTF-8: stay under both readings."""
    api.pulls[(REPO, PR)] = {"number": PR, "head": {"sha": HEAD_SHA}}
    one = fork_report["files"][0]
    fork_report["files"] = [dict(one, path=f"dist/発行物/実行ファイル/バイナリ番号-{i:04d}") for i in range(1500)]
    fork_report["summary"]["files"] = 1500
    run = second_workflow(tmp_path, api, fork_report)
    assert len(ours(api)) == 1, run.stdout[-2000:]
    body = ours(api)[0]["body"]
    assert len(body.encode("utf-8")) <= MAX_BODY
    assert "cut to fit GitHub's comment size limit" in body and "バイナリ番号-0000" in body
    assert len(run.summary.encode("utf-8")) <= 512 * 1024


def test_report_mode_without_a_token_says_why_it_does_not_comment(tmp_path, api, fork_report):
    run = second_workflow(tmp_path, api, fork_report, token="")
    assert run.returncode == 0 and api.log == []
    assert "no github-token or GITHUB_REPOSITORY; cannot verify the report's PR, not commenting" in run.stdout


def test_report_mode_never_comment_makes_no_call(tmp_path, api, fork_report):
    run = second_workflow(tmp_path, api, fork_report, comment="never")
    assert run.returncode == 0 and api.log == []


def test_the_report_artifact_path_is_the_documented_one(fork_report, action: Action):
    assert (action.workspace / ".static-check" / "report.json").is_file()
    shutil.rmtree(action.workspace / ".static-check")  # the runner user can delete what we wrote
