"""entrypoint.py end to end against a fake GitHub API: sticky comment, outputs, summary, failure modes."""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.fakeapi.server import Reply
from tests.github.conftest import HEAD_SHA, PR, READ_ONLY, REPO, TOKEN, Action
from tests.readelf_truth import truth

MARKER = re.compile(r"^<!-- static-check:sticky key=.* -->$", re.M)


def highest_glibc(path) -> str:
    versions = [v.removeprefix("GLIBC_") for vs in truth(path)["version_needs"].values() for v in vs if re.fullmatch(r"GLIBC_[\d.]+", v)]
    return max(versions, key=lambda v: tuple(int(x) for x in v.split(".")))


def ours(api, number: int = PR) -> list[dict]:
    return [c for c in api.comments_on(REPO, number) if MARKER.search(c["body"])]


@pytest.fixture
def failing(fixture, action: Action):
    """A dynamic glibc binary checked against CentOS 7: glibc-version fails."""
    return action.add(fixture("c_dynamic"), "dist/app")


def test_two_runs_leave_one_sticky_comment_past_the_first_page(action: Action, api, failing):
    for i in range(130):  # a busy PR: ours lands on page 2 of 100
        api.add_comment(REPO, PR, f"review chatter {i}")
    first = action.run(binaries="dist/*", target="centos7")
    second = action.run(binaries="dist/*", target="centos7")

    assert first.returncode == second.returncode == 1
    mine = ours(api)
    assert len(mine) == 1, [c["body"][:80] for c in mine]
    assert len(api.comments_on(REPO, PR)) == 131
    body = mine[0]["body"]
    assert "static-check: FAIL" in body and "`dist/app`" in body and "glibc-version" in body
    assert f"commit {HEAD_SHA[:12]}" in body  # the PR head it describes, not the merge commit GITHUB_SHA
    assert "PR #7 comment created" in first.stdout
    assert re.search(r"PR #7 comment (unchanged|updated)", second.stdout)
    assert len(api.requests_to("POST", r".*/comments")) == 1
    # The second run listed every page to find the comment.
    pages = [r.query.get("page", "1") for r in api.requests_to("GET", r".*/issues/7/comments")]
    assert pages.count("2") == 2 and all(r.query.get("per_page") == "100" for r in api.requests_to("GET", r".*/comments"))


def test_outputs_summary_annotations_and_report(action: Action, api, failing):
    run = action.run(binaries="dist/*", target="centos7")
    assert run.returncode == 1
    assert run.outputs["verdict"] == "fail"
    assert run.outputs["violations"] == "1"
    assert run.outputs["max-glibc-found"] == highest_glibc(failing)
    report = json.loads((action.workspace / run.outputs["report"]).read_text())
    assert report["verdict"] == "fail" and report["files"][0]["path"] == "dist/app"
    assert report["github"]["pull_request"] == PR and report["github"]["head_sha"] == HEAD_SHA
    # Summary: a table for the binary, with the symbol that needs the newest glibc and where it runs.
    assert "#### ❌ `dist/app`: FAIL" in run.summary
    assert f"GLIBC_{highest_glibc(failing)}" in run.summary
    assert "| Runs on |" in run.summary and "| Does not run on |" in run.summary and "CentOS 7" in run.summary
    assert "_Fix:_" in run.summary
    # One annotation, title names rule and binary with ':' and ',' escaped.
    assert run.annotations == [a for a in run.annotations if a.startswith("::error title=static-check glibc-version%3A dist/app::")]
    assert len(run.annotations) == 1


def test_token_never_leaks(action: Action, api, failing):
    api.inject("POST", r".*/comments", Reply(400, {"message": f"echo {TOKEN}"}))
    run = action.run(binaries="dist/*", target="centos7")
    assert api.requests_to("POST", r".*/comments")[0].header("authorization") == f"Bearer {TOKEN}"
    assert "::warning" in run.stdout and "***" in run.stdout
    assert TOKEN not in run.all_text()


def test_matrix_keys_keep_separate_comments(action: Action, api, failing):
    action.run(binaries="dist/*", target="centos7", comment_key="centos7")
    action.run(binaries="dist/*", target="rhel8", comment_key="rhel8")
    action.run(binaries="dist/*", target="centos7", comment_key="centos7")
    bodies = sorted(c["body"].splitlines()[0] for c in ours(api))
    assert bodies == ["<!-- static-check:sticky key=centos7 -->", "<!-- static-check:sticky key=rhel8 -->"]


def test_default_key_differs_per_input_set(action: Action, api, failing):
    action.run(binaries="dist/*", target="centos7")
    action.run(binaries="dist/*", max_glibc="2.28")
    assert len(ours(api)) == 2


def test_matrix_legs_with_the_same_inputs_keep_separate_comments(action: Action, api, failing):
    # action.yml passes `${{ toJson(matrix) }}` as the matrix input; two legs that differ only in
    # runs-on or compiler must not overwrite each other's comment.
    legs = ['{\n  "os": "ubuntu-22.04"\n}', '{\n  "os": "ubuntu-24.04"\n}']
    for leg in (*legs, legs[0]):
        action.run(binaries="dist/*", target="centos7", matrix=leg)
    assert len(ours(api)) == 2
    # Outside a matrix the context is null: the key is the one a run without the input gets.
    action.run(binaries="dist/*", target="rhel8", matrix="null")
    action.run(binaries="dist/*", target="rhel8")
    assert len(ours(api)) == 3


def test_on_failure_comment_is_updated_when_the_run_passes(action: Action, api, failing):
    action.run(binaries="dist/*", target="centos7", comment="on-failure", comment_key="k")
    assert "FAIL" in ours(api)[0]["body"]
    passed = action.run(binaries="dist/*", max_glibc="9.99", comment="on-failure", comment_key="k")
    assert passed.returncode == 0 and passed.outputs["verdict"] == "pass"
    mine = ours(api)
    assert len(mine) == 1 and "static-check: PASS" in mine[0]["body"]


def test_auto_does_not_create_a_comment_for_a_clean_pass(action: Action, api, failing):
    run = action.run(binaries="dist/*", max_glibc="9.99")
    assert run.returncode == 0
    assert ours(api) == [] and api.requests_to("POST") == []
    assert "no comment on PR #7" in run.stdout


def test_always_comments_on_a_pass(action: Action, api, failing):
    action.run(binaries="dist/*", max_glibc="9.99", comment="always")
    assert "static-check: PASS" in ours(api)[0]["body"]


def test_never_makes_no_api_call(action: Action, api, failing):
    run = action.run(binaries="dist/*", target="centos7", comment="never")
    assert run.returncode == 1 and api.log == []


def test_not_a_pull_request_skips_the_comment(action: Action, api, failing):
    run = action.run("push", event={"ref": "refs/heads/main"}, binaries="dist/*", target="centos7")
    assert run.returncode == 1
    assert "not a pull request event (push)" in run.stdout
    assert api.log == [] and run.outputs["verdict"] == "fail"


def test_fork_read_only_token_warns_and_keeps_the_verdict(action: Action, api, failing):
    run = action.run(event=action.pr_event(fork=True), token=READ_ONLY, binaries="dist/*", target="centos7")
    assert run.returncode == 1  # the verdict, not the comment's fate
    warning = next(a for a in run.annotations if a.startswith("::warning"))
    assert "403 Resource not accessible by integration" in warning
    assert "fork" in warning and "pull-requests: write" in warning and "workflow_run" in warning
    assert "read-only whatever the job's `permissions: pull-requests: write` says" in warning  # no futile advice
    assert any(a.startswith("::error") for a in run.annotations)
    assert "#### ❌ `dist/app`" in run.summary
    assert api.comments_on(REPO, PR) == []
    assert READ_ONLY not in run.all_text()


def test_same_repo_read_only_token_asks_for_the_permission(action: Action, api, failing):
    run = action.run(token=READ_ONLY, binaries="dist/*", target="centos7")
    assert run.returncode == 1
    warning = next(a for a in run.annotations if a.startswith("::warning"))
    assert "the token cannot write comments. Give the job `permissions: pull-requests: write`" in warning
    assert api.comments_on(REPO, PR) == []


def test_transient_502_and_secondary_rate_limit_are_retried(action: Action, api, failing):
    api.inject("GET", r".*/issues/7/comments", Reply(502, "<html>502 Bad Gateway</html>"))
    limited = Reply(403, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."})
    limited.headers["Retry-After"] = "1"
    api.inject("POST", r".*/issues/7/comments", limited)
    run = action.run(binaries="dist/*", target="centos7")
    assert run.returncode == 1
    assert "retrying in 1s" in run.stdout
    assert len(ours(api)) == 1
    assert "PR #7 comment created" in run.stdout


def test_lost_post_response_does_not_double_post(action: Action, api, failing):
    api.inject("POST", r".*/issues/7/comments", mode="lost")
    run = action.run(binaries="dist/*", target="centos7")
    assert len(ours(api)) == 1
    assert len(api.requests_to("POST")) == 1  # looked again instead of posting twice
    assert "checking whether the comment was created" in run.stdout


def test_502_after_create_does_not_double_post(action: Action, api, failing):
    api.inject("POST", r".*/issues/7/comments", Reply(502, "bad gateway"), mode="after")
    action.run(binaries="dist/*", target="centos7")
    assert len(ours(api)) == 1 and len(api.requests_to("POST")) == 1


def test_api_down_never_fails_the_job(action: Action, api, fixture):
    action.add(fixture("c_static"), "dist/app")
    # Retry-After: 0 keeps the bounded retries from sleeping in the test.
    api.inject("GET", r".*", Reply(503, "down", {"Retry-After": "0"}), times=100)
    api.inject("POST", r".*", Reply(503, "down", {"Retry-After": "0"}), times=100)
    run = action.run(binaries="dist/*", require_static="true", comment="always")
    assert run.returncode == 0 and run.outputs["verdict"] == "pass"
    assert "::warning" in run.stdout and "503" in run.stdout


def test_enterprise_server_api_prefix(tmp_path, fixture):
    from tests.fakeapi.github import FakeGitHub, Token

    with FakeGitHub(prefix="/api/v3", tokens={TOKEN: Token()}) as ghes:
        action = Action(tmp_path, ghes)
        action.add(fixture("c_dynamic"), "dist/app")
        action.run(binaries="dist/*", target="centos7")
        assert len(ours(ghes)) == 1
        assert all(r.path.startswith("/api/v3/repos/") for r in ghes.log)


def test_bad_input_is_one_line_and_exit_2(action: Action, api, failing):
    run = action.run(binaries="dist/*", comment="sometimes")
    assert run.returncode == 2
    assert run.stdout.strip().splitlines() == [
        "::error title=static-check%3A bad input::input comment: expected one of auto, always, on-failure, never, not 'sometimes'"
    ]
    assert "Traceback" not in run.stderr


def test_no_match_is_an_error_not_a_traceback(action: Action, api):
    run = action.run(binaries="dist/*.bin", target="centos7")
    assert run.returncode == 2 and "no files matched" in run.stdout and "Traceback" not in run.stderr
    assert run.outputs["verdict"] == "error"


def test_a_bad_file_does_not_hide_the_others(action: Action, api, failing, tmp_path):
    broken = action.workspace / "dist" / "broken"
    broken.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 9)  # ELF magic, truncated header
    run = action.run(binaries="dist/*", target="centos7")
    assert run.returncode == 2 and run.outputs["verdict"] == "error"
    assert "dist/broken" in run.summary and "#### ❌ `dist/app`: FAIL" in run.summary
    assert any("file-error%3A dist/broken" in a for a in run.annotations)
    assert any("glibc-version%3A dist/app" in a for a in run.annotations)


def test_working_directory_and_sarif_input(action: Action, api, fixture):
    action.add(fixture("c_dynamic"), "sub/dist/app")
    run = action.run(binaries="dist/app", target="centos7", working_directory="sub", sarif="out/results.sarif")
    sarif = json.loads((action.workspace / "sub/out/results.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["glibc-version"]
    assert run.outputs["report"] == ".static-check/report.json"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root (as in the container) can hand files to another user")
def test_files_written_as_root_belong_to_the_workspace_owner(action: Action, api, failing):
    os.chown(action.workspace, 1234, 1234)
    run = action.run(binaries="dist/*", target="centos7", sarif="results.sarif")
    for rel in (".static-check", ".static-check/report.json", "results.sarif"):
        st = (action.workspace / rel).stat()
        assert (st.st_uid, st.st_gid) == (1234, 1234), rel
    assert run.returncode == 1


def test_fail_on_controls_the_exit_code_not_the_verdict(action: Action, api, failing):
    never = action.run(binaries="dist/*", target="centos7", fail_on="never", comment="never")
    assert never.returncode == 0 and never.outputs["verdict"] == "fail"
    with_warning = action.run(binaries="dist/*", target="centos7", fail_on="warning", comment="never")
    assert with_warning.returncode == 1


def test_bad_credentials_is_a_warning(action: Action, api, failing):
    run = action.run(binaries="dist/*", target="centos7", token="ghs_revokedTokenXYZ1234567890")
    assert run.returncode == 1
    assert any(a.startswith("::warning") and "401 Bad credentials" in a for a in run.annotations)
    assert "ghs_revokedTokenXYZ1234567890" not in run.all_text()


def test_hyphenated_inputs_are_read_as_the_runner_passes_them(action: Action, api, failing):
    # INPUT_MAX-GLIBC (hyphen kept) must win; a pass with 9.99 proves it was read.
    run = action.run(binaries="dist/*", max_glibc="9.99", allowed_needed="libc.so.6", comment="never")
    assert run.returncode == 0 and run.outputs["verdict"] == "pass"
    assert "PASS: 1 file: 1 passed" in run.stdout and "### ✅ static-check: PASS\n\n1 file: 1 passed" in run.summary
    report = json.loads((action.workspace / run.outputs["report"]).read_text())
    assert report["policy"]["max_versions"]["GLIBC"] == "9.99" and report["policy"]["allowed_needed"] == ["libc.so.6"]


def test_config_file_is_read_and_inputs_override_it(action: Action, api, failing):
    (action.workspace / ".static-check.yml").write_text("max-glibc: '2.17'\n")
    from_default = action.run(binaries="dist/*", comment="never")
    assert from_default.returncode == 1 and from_default.outputs["verdict"] == "fail"
    (action.workspace / "ci").mkdir()
    (action.workspace / "ci" / "policy.yml").write_text("max-glibc: '9.99'\n")
    named = action.run(binaries="dist/*", config="ci/policy.yml", comment="never")
    assert named.returncode == 0
    overridden = action.run(binaries="dist/*", config="ci/policy.yml", max_glibc="2.17", comment="never")
    assert overridden.returncode == 1


def test_bad_config_is_one_line_naming_the_file(action: Action, api, failing):
    (action.workspace / "bad.yml").write_text("max-glibc: [unclosed\n")
    run = action.run(binaries="dist/*", config="bad.yml", comment="never")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    errors = [a for a in run.annotations if a.startswith("::error")]
    assert len(errors) == 1 and "bad.yml" in errors[0]


def test_file_names_cannot_inject_workflow_commands(action: Action, api, failing):
    (action.workspace / "dist" / "x\n::error title=pwned::injected").write_text("text\n")
    run = action.run(binaries="dist/*", target="centos7", comment="never")
    lines = run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    token = lines[start].split("::")[2]
    end = lines.index(f"::{token}::")
    injected = [i for i, line in enumerate(lines) if line.startswith("::error title=pwned")]
    # The text report escapes the newline, so the name stays on its verdict line; any line that does
    # start with the command must be printed only while commands are off.
    assert all(start < i < end for i in injected)
    assert any("x\\n::error title=pwned::injected" in line for line in lines[start:end])


def test_unwritable_summary_is_a_warning_not_a_crash(action: Action, api, failing, tmp_path):
    import subprocess
    import sys

    from tests.github.conftest import ENTRYPOINT

    env = {"PATH": "/usr/bin:/bin", "GITHUB_WORKSPACE": str(action.workspace), "GITHUB_EVENT_NAME": "push"}
    env |= {"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "dir" / "summary"), "INPUT_BINARIES": "dist/*", "INPUT_TARGET": "centos7"}
    proc = subprocess.run([sys.executable, str(ENTRYPOINT)], env=env, cwd=action.workspace, capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "cannot write" in proc.stdout


def test_info_findings_are_notices_and_do_not_open_a_comment(action: Action, api, fixture):
    action.add(fixture("go_cgo"), "dist/gocgo")
    run = action.run(binaries="dist/*", max_glibc="9.99")
    report = json.loads((action.workspace / run.outputs["report"]).read_text())
    infos = [f["rule"] for f in report["files"][0]["findings"] if f["severity"] == "info"]
    assert run.returncode == 0 and infos
    assert [a.split("::")[1].split(" ")[0] for a in run.annotations] == ["notice"] * len(infos)
    assert run.outputs["violations"] == "0"
    assert api.requests_to("POST") == []  # auto: a hint alone is not worth a new comment


def test_allow_packed_input_accepts_a_packed_binary_that_cannot_be_unpacked(action: Action, api, fixture, tmp_path, monkeypatch):
    # No upx on PATH: a packed binary fails closed unless the allow-packed input is set.
    action.add(fixture("upx_pie"), "dist/packed")
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))
    strict = action.run(binaries="dist/*", comment="never", max_glibc="2.17")
    assert strict.returncode == 1 and strict.outputs["verdict"] == "fail"
    report = json.loads((action.workspace / strict.outputs["report"]).read_text())
    assert [f["rule"] for f in report["files"][0]["findings"]] == ["packed"]
    allowed = action.run(binaries="dist/*", comment="never", max_glibc="2.17", allow_packed="true")
    assert allowed.returncode == 0 and allowed.outputs["verdict"] == "pass"
    report = json.loads((action.workspace / allowed.outputs["report"]).read_text())
    assert report["policy"]["allow_packed"] is True
    assert [(f["rule"], f["severity"]) for f in report["files"][0]["findings"]] == [("packed", "info")]


def test_unwritable_sarif_path_is_one_error_naming_the_input(action: Action, api, failing):
    (action.workspace / "blocker").write_text("a file, not a directory\n")
    run = action.run(binaries="dist/*", target="centos7", sarif="blocker/out.sarif", comment="never")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    errors = [a for a in run.annotations if a.startswith("::error title=static-check::")]
    assert len(errors) == 1 and "cannot write the SARIF file (input sarif: blocker/out.sarif)" in errors[0]
    assert run.outputs["verdict"] == "fail"  # the outputs are still set
    assert (action.workspace / ".static-check/report.json").is_file()


def test_release_archive_members_in_summary_annotations_and_comment(action: Action, api, fixture):
    import tarfile

    tarball = action.workspace / "dist" / "app_1.2_linux_amd64.tar.gz"
    tarball.parent.mkdir(parents=True)
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(fixture("c_dynamic"), "app_1.2/bin/app")
        tar.add(fixture("c_static"), "app_1.2/bin/tool")
    run = action.run(binaries="dist/*", target="centos7")
    member = "dist/app_1.2_linux_amd64.tar.gz!app_1.2/bin/app"
    assert run.returncode == 1 and run.outputs["verdict"] == "fail"
    assert run.outputs["max-glibc-found"] == highest_glibc(fixture("c_dynamic"))
    assert f"#### ❌ `{member}`: FAIL" in run.summary
    assert "#### ✅ `dist/app_1.2_linux_amd64.tar.gz!app_1.2/bin/tool`: PASS" in run.summary
    assert "| Contents | tar.gz archive: 2 ELF files checked (1 failed)" in run.summary
    assert [a.split("::")[1] for a in run.annotations] == [f"error title=static-check glibc-version%3A {member}"]
    assert f"`{member}`" in ours(api)[0]["body"]


def test_archive_limit_inputs_as_the_cli_flags(action: Action, api, fixture):
    import tarfile
    import zipfile

    inner = action.workspace / "inner.tar.gz"
    with tarfile.open(inner, "w:gz") as tar:
        tar.add(fixture("c_static"), "bin/tool")
    outer = action.workspace / "dist" / "bundle.zip"
    outer.parent.mkdir(parents=True)
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "inner.tar.gz")
        zf.write(fixture("c_static"), "tool")
    inner.unlink()
    default = action.run(binaries="dist/*", require_static="true", comment="never")
    paths = [f["path"] for f in json.loads((action.workspace / default.outputs["report"]).read_text())["files"]]
    assert "dist/bundle.zip!inner.tar.gz!bin/tool" in paths  # one level of nesting by default
    flat = action.run(binaries="dist/*", require_static="true", archive_depth="0", comment="never")
    report = json.loads((action.workspace / flat.outputs["report"]).read_text())
    assert [f["path"] for f in report["files"]] == ["dist/bundle.zip", "dist/bundle.zip!tool"]
    assert report["files"][0]["archive"]["skipped_reasons"] == {"nested archive (--archive-depth 0)": 1}
    small = action.run(binaries="dist/*", require_static="true", max_member_size="1K", comment="never")
    assert small.returncode == 2 and small.outputs["verdict"] == "error"
    assert "dist/bundle.zip!tool" in small.summary and "1 KiB" in small.summary
    bad = action.run(binaries="dist/*", archive_depth="deep", comment="never")
    assert bad.returncode == 2
    assert bad.stdout.strip().splitlines() == [
        "::error title=static-check%3A bad input::input archive-depth: expected a whole number >= 0, not 'deep'"
    ]
