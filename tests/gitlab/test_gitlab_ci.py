"""End to end: `python -m checker.ci.gitlab_ci` in a realistic merge request pipeline environment
against a loopback fake of the GitLab notes API."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from checker.publish.gitlab import marker
from tests.fakeapi.gitlab import FakeGitLab, Project
from tests.fakeapi.server import Reply
from tests.gitlab.helpers import REPO, copy_binary, python_env

SCHEMA = json.loads((Path(__file__).parent / "codequality.schema.json").read_text())
API_TOKEN = "glpat-SECRET-api-0123456789"
READ_TOKEN = "glpat-SECRET-read-0123456789"
JOB_TOKEN = "glcbt-SECRET-job-0123456789"
PROJECT_PATH = "acme/tools/widget"
IID = 7


@dataclass
class Run:
    code: int
    out: str
    err: str
    project_dir: Path

    @property
    def text(self) -> str:
        return self.out + self.err

    def report(self, name: str) -> Path:
        return self.project_dir / "static-check-report" / name


@pytest.fixture
def gitlab():
    server = FakeGitLab(prefix="/gitlab/api/v4")  # self-managed instance under a path prefix
    server.add_token(API_TOKEN, "project_42_bot")
    server.add_token(READ_TOKEN, "reader", kind="read_api")
    server.add_token(JOB_TOKEN, "ci-job", kind="job")
    with server:
        yield server


@pytest.fixture
def project(gitlab) -> Project:
    return gitlab.add_project(42, PROJECT_PATH, mr_iids=(IID,))


@pytest.fixture
def project_dir(tmp_path, fixture) -> Path:
    root = tmp_path / "builds" / "widget"
    copy_binary(fixture("c_fcntl"), root / "dist", "widget")  # needs GLIBC 2.34 (readelf), dynamic
    copy_binary(fixture("c_static"), root / "dist", "widget-static")
    return root


def ci_env(gitlab: FakeGitLab, project_dir: Path, **overrides: str) -> dict[str, str]:
    """The variables GitLab sets in a merge request pipeline, plus the template's STATIC_CHECK_*."""
    env = {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_SERVER_URL": gitlab.origin + "/gitlab",
        "CI_API_V4_URL": gitlab.api_url,
        "CI_PROJECT_ID": "42",
        "CI_PROJECT_PATH": PROJECT_PATH,
        "CI_PROJECT_DIR": str(project_dir),
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": str(IID),
        "CI_JOB_NAME": "static-check",
        "CI_JOB_URL": gitlab.origin + "/gitlab/acme/tools/widget/-/jobs/991",
        "CI_COMMIT_SHORT_SHA": "a1b2c3d4",
        "CI_JOB_TOKEN": JOB_TOKEN,
        "STATIC_CHECK_BINARIES": "dist/*",
        "STATIC_CHECK_MAX_GLIBC": "2.17",
        "STATIC_CHECK_REQUIRE_STATIC": "",
        "STATIC_CHECK_ALLOWED_NEEDED": "",
        "STATIC_CHECK_TARGET": "",
        "STATIC_CHECK_FAIL_ON": "error",
        "STATIC_CHECK_NOTE": "auto",
        "STATIC_CHECK_GITLAB_TOKEN": API_TOKEN,
        "NO_COLOR": "1",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


MODULE = [sys.executable, "-m", "checker.ci.gitlab_ci"]
ENTRYPOINT = [sys.executable, str(REPO / "entrypoint.py")]  # the container's ENTRYPOINT


def run(env: dict[str, str], cwd: Path, command: list[str] = MODULE) -> Run:
    base = {k: v for k, v in python_env().items() if not k.startswith(("CI", "GITLAB", "STATIC_CHECK"))}
    proc = subprocess.run(
        command,
        cwd=cwd,  # a runner starts in the builds dir; the entry point moves to CI_PROJECT_DIR
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    result = Run(proc.returncode, proc.stdout, proc.stderr, Path(env["CI_PROJECT_DIR"]))
    assert "Traceback" not in result.text, result.text
    for secret in (API_TOKEN, READ_TOKEN, JOB_TOKEN):
        assert secret not in result.text
    return result


def our_notes(gitlab: FakeGitLab, project: Project, key: str = "static-check") -> list[dict]:
    return [n for n in gitlab.notes(project, IID) if marker(key) in n["body"]]


def assert_reports_valid(result: Run) -> None:
    issues = json.loads(result.report("gl-code-quality.json").read_text())
    jsonschema.validate(issues, SCHEMA)
    ET.parse(result.report("junit.xml"))
    data = json.loads(result.report("static-check.json").read_text())
    assert data["verdict"] in ("pass", "fail", "error")
    for name in ("gl-code-quality.json", "junit.xml", "static-check.json", "static-check.md"):
        assert API_TOKEN not in result.report(name).read_text()


def test_two_runs_keep_exactly_one_note(gitlab, project, project_dir, tmp_path):
    bot = gitlab.tokens[API_TOKEN].user
    human = {"id": 99, "username": "dev", "name": "Dev"}
    # A busy MR: our earlier note is old, so it sits on a later page (newest first, 100 per page).
    first = run(ci_env(gitlab, project_dir), tmp_path)
    assert first.code == 1, first.text
    for i in range(130):
        gitlab.add_note(project, IID, f"review comment {i}", human)
    gitlab.add_note(project, IID, "added 1 commit", human, system=True)

    second = run(ci_env(gitlab, project_dir), tmp_path)
    assert second.code == 1, second.text
    notes = our_notes(gitlab, project)
    assert len(notes) == 1
    assert notes[0]["author"]["id"] == bot["id"]
    body = notes[0]["body"]
    assert "### static-check: FAIL" in body and "glibc-version" in body and "dist/widget" in body
    assert "commit a1b2c3d4" in body and "/jobs/991" in body
    assert len(gitlab.requests_to("POST", r".*/notes")) == 1
    assert "merge request note created" in first.out
    assert "merge request note unchanged" in second.out or "merge request note updated" in second.out
    # the list was read past the first page, through the URL-encoded project id under the prefix
    gets = gitlab.requests_to("GET", r"/gitlab/api/v4/projects/42/merge_requests/7/notes")
    assert any(r.query.get("page") == "2" for r in gets)
    assert_reports_valid(second)


def test_container_entrypoint_runs_the_gitlab_mode(gitlab, project, project_dir, tmp_path):
    """entrypoint.py (the image's ENTRYPOINT) hands over to the GitLab mode when GITLAB_CI=true."""
    for _ in range(2):
        result = run(ci_env(gitlab, project_dir), tmp_path, ENTRYPOINT)
        assert result.code == 1, result.text
    assert len(our_notes(gitlab, project)) == 1
    assert len(gitlab.requests_to("POST", r".*/notes")) == 1
    assert_reports_valid(result)


def test_fixed_binary_updates_the_note_to_pass(gitlab, project, project_dir, tmp_path):
    assert run(ci_env(gitlab, project_dir), tmp_path).code == 1
    (project_dir / "dist" / "widget").unlink()
    fixed = run(ci_env(gitlab, project_dir), tmp_path)
    assert fixed.code == 0, fixed.text
    notes = our_notes(gitlab, project)
    assert len(notes) == 1 and "### static-check: PASS" in notes[0]["body"]
    assert "merge request note updated" in fixed.out
    assert len(gitlab.requests_to("PUT", r".*/notes/\d+")) == 1


def test_project_path_is_url_encoded(gitlab, project, project_dir, tmp_path):
    result = run(ci_env(gitlab, project_dir, CI_PROJECT_ID=PROJECT_PATH), tmp_path)
    assert result.code == 1
    assert len(our_notes(gitlab, project)) == 1
    posts = gitlab.requests_to("POST", r".*/notes")
    assert posts[0].path == "/gitlab/api/v4/projects/acme%2Ftools%2Fwidget/merge_requests/7/notes"


def test_link_only_and_next_page_only_pagination(gitlab, project, project_dir, tmp_path):
    human = {"id": 99, "username": "dev", "name": "Dev"}
    run(ci_env(gitlab, project_dir), tmp_path)
    for i in range(250):
        gitlab.add_note(project, IID, f"comment {i}", human)
    for link, next_page in ((True, False), (False, True)):
        gitlab.send_link, gitlab.send_next_page = link, next_page
        run(ci_env(gitlab, project_dir), tmp_path)
        assert len(our_notes(gitlab, project)) == 1
    assert len(gitlab.requests_to("POST", r".*/notes")) == 1


def test_link_to_the_external_url_is_not_followed(gitlab, project, project_dir, tmp_path):
    """Runners often reach GitLab on an internal address; GitLab's Link headers name its external_url
    (python-gitlab#1254). X-Next-Page is relative to the address we called, so paging still works."""
    human = {"id": 99, "username": "dev", "name": "Dev"}
    run(ci_env(gitlab, project_dir), tmp_path)
    for i in range(150):
        gitlab.add_note(project, IID, f"comment {i}", human)
    gitlab.link_origin = "https://gitlab.example.com"
    result = run(ci_env(gitlab, project_dir), tmp_path)
    assert "note not written" not in result.out, result.out
    assert len(our_notes(gitlab, project)) == 1
    assert len(gitlab.requests_to("POST", r".*/notes")) == 1


def test_no_token_skips_note_keeps_reports_and_exit_code(gitlab, project, project_dir, tmp_path):
    result = run(ci_env(gitlab, project_dir, STATIC_CHECK_GITLAB_TOKEN=""), tmp_path)
    assert result.code == 1
    lines = [line for line in result.out.splitlines() if "merge request note" in line]
    assert len(lines) == 1 and "STATIC_CHECK_GITLAB_TOKEN" in lines[0] and "api scope" in lines[0]
    assert gitlab.log == []
    assert_reports_valid(result)


def test_outside_merge_request_pipeline(gitlab, project, project_dir, tmp_path):
    env = ci_env(gitlab, project_dir, CI_PIPELINE_SOURCE="push")
    del env["CI_MERGE_REQUEST_IID"]
    result = run(env, tmp_path)
    assert result.code == 1
    assert "not a merge request pipeline" in result.out
    assert gitlab.log == []
    assert_reports_valid(result)


def test_job_token_cannot_write(gitlab, project, project_dir, tmp_path):
    # The token variable holds CI_JOB_TOKEN itself: known not to work, so no request is made.
    same = run(ci_env(gitlab, project_dir, STATIC_CHECK_GITLAB_TOKEN=JOB_TOKEN), tmp_path)
    assert same.code == 1 and "holds CI_JOB_TOKEN" in same.out
    assert gitlab.log == []
    # Another job's token: GitLab lets it read notes but answers 401 to the write.
    other = run(ci_env(gitlab, project_dir, STATIC_CHECK_GITLAB_TOKEN=JOB_TOKEN, CI_JOB_TOKEN="glcbt-other"), tmp_path)
    assert other.code == 1, other.text
    warning = [line for line in other.out.splitlines() if "note not written" in line]
    assert len(warning) == 1 and "401" in warning[0] and "api scope" in warning[0]
    assert gitlab.notes(project, IID) == []
    assert_reports_valid(other)


def test_read_only_token_gets_403_and_a_clear_warning(gitlab, project, project_dir, tmp_path):
    result = run(ci_env(gitlab, project_dir, STATIC_CHECK_GITLAB_TOKEN=READ_TOKEN), tmp_path)
    assert result.code == 1
    warning = [line for line in result.out.splitlines() if "note not written" in line]
    assert len(warning) == 1 and "403" in warning[0] and "read_api" in warning[0]
    assert gitlab.notes(project, IID) == []


def test_passing_run_exit_zero_even_when_the_note_fails(gitlab, project, project_dir, tmp_path):
    # Retry-After: 0 keeps the client's bounded retries from sleeping in the test.
    gitlab.inject("GET", r".*/notes", Reply(500, {"message": "500 Internal Server Error"}, {"Retry-After": "0"}), times=10)
    result = run(ci_env(gitlab, project_dir, STATIC_CHECK_BINARIES="dist/widget-static", STATIC_CHECK_NOTE="always"), tmp_path)
    assert result.code == 0, result.text
    assert "note not written" in result.out and "500" in result.out
    assert len(gitlab.requests_to("GET", r".*/notes")) > 1  # retried before giving up


def test_transient_5xx_is_retried(gitlab, project, project_dir, tmp_path):
    gitlab.inject("GET", r".*/notes", Reply(502, "Bad Gateway", {"Retry-After": "0"}), times=1)
    result = run(ci_env(gitlab, project_dir), tmp_path)
    assert result.code == 1
    assert len(our_notes(gitlab, project)) == 1


def test_rate_limited_note_creation_waits_and_posts_once(gitlab, project, project_dir, tmp_path):
    # GitLab rate-limits note creation with 429 and Retry-After; the request was not applied.
    gitlab.inject("POST", r".*/notes", Reply(429, {"message": "Retry later"}, {"Retry-After": "1"}), times=1)
    result = run(ci_env(gitlab, project_dir), tmp_path)
    assert result.code == 1
    assert "retrying in 1s" in result.err and "merge request note created" in result.out
    assert len(our_notes(gitlab, project)) == 1 and len(gitlab.requests_to("POST", r".*/notes")) == 2


def test_lost_create_response_does_not_duplicate(gitlab, project, project_dir, tmp_path):
    # The POST is applied, then the proxy answers 502: the client must look before posting again.
    gitlab.inject("POST", r".*/notes", Reply(502, "Bad Gateway"), mode="after")
    result = run(ci_env(gitlab, project_dir), tmp_path)
    assert result.code == 1, result.text
    assert len(our_notes(gitlab, project)) == 1
    assert "merge request note created" in result.out


def test_note_modes(gitlab, project, project_dir, tmp_path):
    passing = {"STATIC_CHECK_BINARIES": "dist/widget-static"}
    # auto + no finding + no earlier note: nothing posted
    result = run(ci_env(gitlab, project_dir, **passing), tmp_path)
    assert result.code == 0 and gitlab.notes(project, IID) == []
    assert "nothing to report" in result.out
    # always: posted even when passing
    run(ci_env(gitlab, project_dir, STATIC_CHECK_NOTE="always", **passing), tmp_path)
    assert len(our_notes(gitlab, project)) == 1
    # never: no API call at all
    before = len(gitlab.log)
    result = run(ci_env(gitlab, project_dir, STATIC_CHECK_NOTE="never"), tmp_path)
    assert result.code == 1 and len(gitlab.log) == before
    # on-failure with a failing run: the earlier note is updated to FAIL
    run(ci_env(gitlab, project_dir, STATIC_CHECK_NOTE="on-failure"), tmp_path)
    notes = our_notes(gitlab, project)
    assert len(notes) == 1 and "static-check: FAIL" in notes[0]["body"]


def test_two_jobs_keep_separate_notes(gitlab, project, project_dir, tmp_path):
    run(ci_env(gitlab, project_dir, CI_JOB_NAME="check-amd64"), tmp_path)
    run(ci_env(gitlab, project_dir, CI_JOB_NAME="check-arm64", STATIC_CHECK_BINARIES="dist/widget-static"), tmp_path)
    run(ci_env(gitlab, project_dir, CI_JOB_NAME="check-amd64"), tmp_path)
    assert len(our_notes(gitlab, project, "check-amd64")) == 1
    assert len(gitlab.notes(project, IID)) == 1  # arm64 passed with nothing to say


def test_marker_quoted_by_someone_else_is_not_edited(gitlab, project, project_dir, tmp_path):
    human = {"id": 99, "username": "dev", "name": "Dev"}
    quoted = gitlab.add_note(project, IID, "look at this:\n" + marker("static-check"), human)
    result = run(ci_env(gitlab, project_dir), tmp_path)
    assert result.code == 1
    assert quoted["body"].startswith("look at this")
    mine = [n for n in our_notes(gitlab, project) if n["author"]["id"] != 99]
    assert len(mine) == 1


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"STATIC_CHECK_FAIL_ON": "sometimes"}, "STATIC_CHECK_FAIL_ON must be one of"),
        ({"STATIC_CHECK_BINARIES": ""}, "STATIC_CHECK_BINARIES is empty"),
        ({"STATIC_CHECK_BINARIES": "nothing/here/*"}, "no files matched"),
        ({"STATIC_CHECK_MAX_GLIBC": "two"}, "max-glibc"),
        ({"STATIC_CHECK_TARGET": "windows95"}, "unknown target"),
        ({"STATIC_CHECK_ARCHIVE_DEPTH": "-1"}, "STATIC_CHECK_ARCHIVE_DEPTH"),
        ({"STATIC_CHECK_MAX_MEMBER_SIZE": "lots"}, "invalid size"),
        ({"STATIC_CHECK_ALLOW_PACKED": "maybe"}, "allow-packed"),
    ],
)
def test_bad_settings_are_one_line_errors(gitlab, project, project_dir, tmp_path, overrides, expected):
    result = run(ci_env(gitlab, project_dir, **overrides), tmp_path)
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("static-check: error:") and expected in errors[0], result.err
    assert gitlab.log == []


def test_config_file_and_target(gitlab, project, project_dir, tmp_path):
    (project_dir / ".static-check.yml").write_text(
        "require-static: true\noverrides:\n  - paths: ['dist/widget']\n    require-static: false\n"
    )
    result = run(ci_env(gitlab, project_dir, STATIC_CHECK_MAX_GLIBC="", STATIC_CHECK_TARGET="rhel9"), tmp_path)
    # rhel9 has glibc 2.34: the dynamic binary is exempt from require-static by the override and fits
    assert result.code == 0, result.text
    data = json.loads(result.report("static-check.json").read_text())
    assert data["policy"]["target"] == "rhel9" and data["policy"]["require_static"] is True


def test_release_archive_members_are_reported(gitlab, project, project_dir, tmp_path):
    """A tarball as users ship it: its ELF member gets the findings, in every GitLab report."""
    with tarfile.open(project_dir / "dist" / "widget-1.0.tar.gz", "w:gz") as tar:
        tar.add(project_dir / "dist" / "widget", arcname="widget-1.0/bin/widget")
    (project_dir / "dist" / "widget").unlink()
    result = run(ci_env(gitlab, project_dir), tmp_path)
    assert result.code == 1, result.text
    issues = json.loads(result.report("gl-code-quality.json").read_text())
    assert [(i["location"]["path"], i["check_name"]) for i in issues] == [("dist/widget-1.0.tar.gz!widget-1.0/bin/widget", "glibc-version")]
    cases = {c.get("name"): c for c in ET.parse(result.report("junit.xml")).getroot().iter("testcase")}
    assert cases["dist/widget-1.0.tar.gz!widget-1.0/bin/widget"].find("failure") is not None
    # the archive limits reach the run: a member over the size limit is not read, and says so
    limited = run(ci_env(gitlab, project_dir, STATIC_CHECK_MAX_MEMBER_SIZE="1K", STATIC_CHECK_NOTE="never"), tmp_path)
    assert limited.code == 2, limited.text
    issues = json.loads(limited.report("gl-code-quality.json").read_text())
    member = next(i for i in issues if i["location"]["path"].endswith("!widget-1.0/bin/widget"))
    assert member["check_name"] == "file-error" and "max-member-size" in member["description"]
