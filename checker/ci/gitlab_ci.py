"""GitLab CI entry point (`static-check-gitlab`, `python -m checker.ci.gitlab_ci`).

Reads STATIC_CHECK_* variables (set by .gitlab-ci-template.yml or the CI/CD component) and GitLab's
CI_* variables, runs the same core check as the CLI, writes the reports GitLab shows in the merge
request (Code Quality, JUnit) plus JSON and Markdown, and keeps one merge request note up to date.
The exit code comes from the verdict alone: a note that cannot be written is one warning line.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.archives.limits import ArchiveLimits, parse_size
from checker.ci.sticky import MODES, should_create
from checker.models import Report
from checker.policy import PolicyError, policy_from_settings
from checker.run import FAIL_ON, NoInputError, RunOptions, check_paths, exit_code

PROG = "static-check"
DEFAULT_REPORT_DIR = "static-check-report"
NOTE_MODES = MODES
# Report files written into the report directory, by format.
REPORT_FILES = {
    "json": "static-check.json",
    "markdown": "static-check.md",
    "codequality": "gl-code-quality.json",
    "junit": "junit.xml",
}
# STATIC_CHECK_<NAME> variable -> policy setting (same names as the CLI flags and the config file).
POLICY_VARIABLES = {
    "TARGET": "target",
    "MAX_GLIBC": "max-glibc",
    "MAX_VERSION": "max-version",
    "REQUIRE_STATIC": "require-static",
    "ALLOWED_NEEDED": "allowed-needed",
    "ARCH": "arch",
    "LIBC": "libc",
    "MIN_KERNEL": "min-kernel",
    "FORBID_RPATH": "forbid-rpath",
    "ALLOW_PACKED": "allow-packed",
    "IGNORE": "ignore",
}
NOTE_ROWS = 200  # files listed in the note; the artifacts have all of them


class SettingsError(ValueError):
    """A STATIC_CHECK_* variable has a bad value (one line naming it)."""


@dataclass(frozen=True)
class Settings:
    binaries: list[str]
    policy: dict[str, Any]
    config: str | None
    fail_on: str
    allow_empty: bool
    archives: ArchiveLimits
    report_dir: str
    note: str
    note_key: str
    token: str


def var(env: Mapping[str, str], name: str) -> str:
    return env.get(f"STATIC_CHECK_{name}", "").strip()


def split_binaries(value: str) -> list[str]:
    """Newline or comma separated; an item with spaces that is not an existing path is split on them."""
    out: list[str] = []
    for item in re.split(r"[,\n]", value):
        item = item.strip()
        if not item:
            continue
        out.extend([item] if " " not in item or os.path.exists(item) else item.split())
    return out


def archive_limits(env: Mapping[str, str]) -> ArchiveLimits:
    """STATIC_CHECK_ARCHIVE_DEPTH / _MAX_MEMBER_SIZE / _MAX_UNPACKED_SIZE, as the CLI flags."""
    depth, member, unpacked = var(env, "ARCHIVE_DEPTH"), var(env, "MAX_MEMBER_SIZE"), var(env, "MAX_UNPACKED_SIZE")
    if depth and not depth.isdigit():
        raise SettingsError(f"STATIC_CHECK_ARCHIVE_DEPTH must be a whole number >= 0, not {depth!r}")
    try:
        return ArchiveLimits(
            depth=int(depth) if depth else ArchiveLimits.depth,
            max_member_size=parse_size(member) if member else ArchiveLimits.max_member_size,
            max_unpacked=parse_size(unpacked) if unpacked else ArchiveLimits.max_unpacked,
        )
    except ValueError as exc:
        raise SettingsError(f"STATIC_CHECK_MAX_MEMBER_SIZE/STATIC_CHECK_MAX_UNPACKED_SIZE: {exc}") from None


def read_settings(env: Mapping[str, str]) -> Settings:
    binaries = split_binaries(env.get("STATIC_CHECK_BINARIES", ""))
    if not binaries:
        raise SettingsError("STATIC_CHECK_BINARIES is empty: name the files, directories or globs to check")
    fail_on = var(env, "FAIL_ON") or "error"
    if fail_on not in FAIL_ON:
        raise SettingsError(f"STATIC_CHECK_FAIL_ON must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    note = var(env, "NOTE") or "auto"
    if note not in NOTE_MODES:
        raise SettingsError(f"STATIC_CHECK_NOTE must be one of {', '.join(NOTE_MODES)}, not {note!r}")
    allow_empty = var(env, "ALLOW_EMPTY").lower()
    if allow_empty not in ("", "true", "false", "1", "0"):
        raise SettingsError(f"STATIC_CHECK_ALLOW_EMPTY must be true or false, not {allow_empty!r}")
    return Settings(
        binaries=binaries,
        # Empty variables mean "not set", so the config file (or the target preset) decides.
        policy={key: var(env, name) or None for name, key in POLICY_VARIABLES.items()},
        config=var(env, "CONFIG") or None,
        fail_on=fail_on,
        allow_empty=allow_empty in ("true", "1"),
        archives=archive_limits(env),
        report_dir=var(env, "REPORT_DIR") or DEFAULT_REPORT_DIR,
        note=note,
        note_key=var(env, "NOTE_KEY") or env.get("CI_JOB_NAME", "").strip() or PROG,
        token=env.get("STATIC_CHECK_GITLAB_TOKEN", "").strip(),
    )


def write_reports(report: Report, report_dir: str) -> list[str]:
    from checker.report import render

    Path(report_dir).mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, name in REPORT_FILES.items():
        path = os.path.join(report_dir, name)
        Path(path).write_text(render(report, fmt), encoding="utf-8")
        written.append(path)
    return written


def note_body(report: Report, settings: Settings, env: Mapping[str, str]) -> str:
    from checker.report import markdown

    title = PROG if settings.note_key == PROG else f"{PROG} ({settings.note_key})"
    body = markdown.render(report, title=title, max_rows=NOTE_ROWS)
    where = [f"commit {env['CI_COMMIT_SHORT_SHA']}" if env.get("CI_COMMIT_SHORT_SHA") else ""]
    if env.get("CI_JOB_URL"):
        where.append(f"[job log and full reports]({env['CI_JOB_URL']})")
    footer = ", ".join(w for w in where if w)
    return body + (f"\n<sub>{footer}</sub>\n" if footer else "")


def publish_note(report: Report, settings: Settings, env: Mapping[str, str]) -> str:
    """Create or update the sticky note; returns the one line to print. Never raises."""
    if settings.note == "never":
        return "merge request note: disabled (STATIC_CHECK_NOTE=never)"
    iid = env.get("CI_MERGE_REQUEST_IID", "").strip()
    if not iid:
        return "merge request note skipped: not a merge request pipeline (CI_MERGE_REQUEST_IID is not set)"
    if not settings.token:
        return (
            "merge request note skipped: set the masked variable STATIC_CHECK_GITLAB_TOKEN to an access token "
            "with api scope (CI_JOB_TOKEN cannot write notes); the reports are in the job artifacts"
        )
    if settings.token == env.get("CI_JOB_TOKEN"):
        return "merge request note skipped: STATIC_CHECK_GITLAB_TOKEN holds CI_JOB_TOKEN, which cannot write notes; use an api-scope token"
    api_url, project = env.get("CI_API_V4_URL", "").strip(), env.get("CI_PROJECT_ID", "").strip()
    if not api_url or not project:
        return "merge request note skipped: CI_API_V4_URL or CI_PROJECT_ID is not set"

    from checker.publish import gitlab
    from checker.publish.http import ApiError, redact

    mr = gitlab.MergeRequest(api_url, project, iid)
    try:
        with gitlab.client(mr, settings.token, log=lambda line: print(f"{PROG}: {line}", file=sys.stderr)) as api:
            body, create = note_body(report, settings, env), should_create(settings.note, report)
            result = gitlab.upsert_note(api, mr, body, settings.note_key, create=create)
    except ApiError as exc:
        return f"warning: merge request note not written: {gitlab.explain(exc)}"
    except Exception as exc:  # the note must never decide the job's fate
        return f"warning: merge request note not written: {type(exc).__name__}: {redact(str(exc), (settings.token,))}"
    if result.action == "skipped":
        return "merge request note: nothing to report and no earlier note to update"
    return f"merge request note {result.action} (note {result.note_id}, merge request !{iid})"


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    project_dir = env.get("CI_PROJECT_DIR", "").strip()
    start = os.getcwd()
    try:
        if project_dir and os.path.isdir(project_dir):
            os.chdir(project_dir)  # binaries, config and reports are relative to the project
        return _run(env)
    finally:
        os.chdir(start)


def _run(env: Mapping[str, str]) -> int:
    try:
        settings = read_settings(env)
        policy = policy_from_settings(settings.policy, settings.config)
        options = RunOptions(fail_on=settings.fail_on, allow_empty=settings.allow_empty, archives=settings.archives)
        report = check_paths(settings.binaries, policy, options)
    except (SettingsError, PolicyError, NoInputError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    from checker.report import text

    color = "NO_COLOR" not in env
    sys.stdout.write(text.render(report, color=color))
    try:
        written = write_reports(report, settings.report_dir)
    except OSError as exc:
        print(f"{PROG}: error: {exc.filename or settings.report_dir}: cannot write report ({exc.strerror})", file=sys.stderr)
        return 2
    print(f"{PROG}: reports: {', '.join(written)}")
    print(f"{PROG}: {publish_note(report, settings, env)}")
    sys.stdout.flush()
    return exit_code(report, settings.fail_on)


if __name__ == "__main__":
    sys.exit(main())
