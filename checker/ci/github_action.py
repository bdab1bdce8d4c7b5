"""GitHub Action mode: inputs from INPUT_* variables, outputs, job summary, annotations, PR comment.

The runner hands a Docker action its inputs as `INPUT_<NAME>` with the name upper-cased and
hyphens kept (`max-glibc` -> `INPUT_MAX-GLIBC`); `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY` are
files to append to. The container runs as root, while later steps run as the runner user, so
everything written into the workspace is handed to the workspace's owner.

The exit code reflects the policy verdict (per `fail-on`); a comment that cannot be posted is a
warning, never a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from checker.archives.limits import ArchiveLimits, parse_size
from checker.ci.github_commands import annotations, append_file, command, print_untrusted, set_outputs
from checker.ci.github_summary import comment_text, job_summary
from checker.ci.sticky import MODES, should_create
from checker.evaluate import effective_glibc
from checker.models import Report
from checker.policy import PolicyError, policy_from_settings, split_list
from checker.publish.github import StickyComment
from checker.publish.http import ApiError, RestClient
from checker.report import json_report, sarif
from checker.report.load import ReportError, load_report
from checker.report.summary import counts_line
from checker.run import FAIL_ON, NoInputError, RunOptions, check_paths, exit_code
from checker.versions import version_text

COMMENT_MODES = MODES
REPORT_PATH = ".static-check/report.json"  # relative to the workspace
PR_EVENTS = ("pull_request", "pull_request_target")

# Inputs that map 1:1 onto policy settings (same names as .static-check.yml and the CLI flags).
POLICY_INPUTS = ("target", "max-glibc", "require-static", "allowed-needed", "arch", "allow-packed")
# Outputs of a step that could not check anything (bad input, no files, bad policy).
NO_REPORT_OUTPUTS = {"verdict": "error", "violations": "0", "max-glibc-found": "", "report": ""}


class ActionError(Exception):
    """Bad action input; reported as one ::error line, exit 2."""


# -- inputs ----------------------------------------------------------------------------------


def get_input(env: Mapping[str, str], name: str) -> str:
    """INPUT_MAX-GLIBC as the runner sets it; INPUT_MAX_GLIBC too, for `env:`-style callers."""
    key = "INPUT_" + name.replace(" ", "_").upper()
    value = env.get(key)
    if value is None:
        value = env.get(key.replace("-", "_"), "")
    return value.strip()


def archive_limits(env: Mapping[str, str]) -> ArchiveLimits:
    """archive-depth / max-member-size / max-unpacked-size, as the CLI flags of the same names."""
    depth = get_input(env, "archive-depth")
    if depth and not depth.isdigit():
        raise ActionError(f"input archive-depth: expected a whole number >= 0, not {depth!r}")
    sizes = {}
    for name in ("max-member-size", "max-unpacked-size"):
        if value := get_input(env, name):
            try:
                sizes[name] = parse_size(value)
            except ValueError as exc:
                raise ActionError(f"input {name}: {exc}") from None
    return ArchiveLimits(
        depth=int(depth) if depth else ArchiveLimits.depth,
        max_member_size=sizes.get("max-member-size", ArchiveLimits.max_member_size),
        max_unpacked=sizes.get("max-unpacked-size", ArchiveLimits.max_unpacked),
    )


@dataclass
class Inputs:
    binaries: list[str]
    policy: dict[str, str]
    config: str
    comment: str
    comment_key: str
    token: str = field(repr=False)
    fail_on: str
    sarif: str
    working_directory: str
    report: str
    matrix: str = ""  # `${{ toJson(matrix) }}` from action.yml; "null" outside a matrix
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)

    @classmethod
    def read(cls, env: Mapping[str, str]) -> Inputs:
        comment = get_input(env, "comment").lower() or "auto"
        if comment not in COMMENT_MODES:
            raise ActionError(f"input comment: expected one of {', '.join(COMMENT_MODES)}, not {comment!r}")
        fail_on = get_input(env, "fail-on").lower() or "error"
        if fail_on not in FAIL_ON:
            raise ActionError(f"input fail-on: expected one of {', '.join(FAIL_ON)}, not {fail_on!r}")
        return cls(
            binaries=split_list(get_input(env, "binaries")),
            policy={name: get_input(env, name) for name in POLICY_INPUTS if get_input(env, name)},
            config=get_input(env, "config"),
            comment=comment,
            comment_key=get_input(env, "comment-key"),
            token=get_input(env, "github-token"),
            fail_on=fail_on,
            sarif=get_input(env, "sarif"),
            working_directory=get_input(env, "working-directory") or ".",
            report=get_input(env, "report"),
            matrix=get_input(env, "matrix"),
            archives=archive_limits(env),
        )

    def input_set(self) -> str:
        """Short stable digest of what this step checks, so matrix legs get separate comments."""
        parts: list[Any] = [self.binaries, sorted(self.policy.items()), self.config, self.working_directory]
        # The job id is the same for every matrix leg: its values keep legs with equal inputs apart.
        # Outside a matrix the value is "null", and the digest stays what it was without it.
        try:
            matrix = json.loads(self.matrix) if self.matrix else None
        except ValueError:
            matrix = self.matrix
        if matrix:
            parts.append(matrix)
        data = json.dumps(parts, sort_keys=True)
        return hashlib.sha256(data.encode()).hexdigest()[:8]


# -- context ---------------------------------------------------------------------------------


@dataclass
class Context:
    env: Mapping[str, str]
    workspace: Path
    event_name: str
    event: dict[str, Any]

    @classmethod
    def read(cls, env: Mapping[str, str]) -> Context:
        event: dict[str, Any] = {}
        path = env.get("GITHUB_EVENT_PATH")
        if path:
            try:
                with open(path, encoding="utf-8") as fh:
                    loaded = json.load(fh)
                event = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                event = {}
        workspace = Path(env.get("GITHUB_WORKSPACE") or os.getcwd())
        return cls(env, workspace, env.get("GITHUB_EVENT_NAME", ""), event)

    @property
    def repository(self) -> str:
        return self.env.get("GITHUB_REPOSITORY", "")

    @property
    def api_url(self) -> str:
        # GitHub Enterprise Server: https://HOST/api/v3; the runner sets it for us.
        return self.env.get("GITHUB_API_URL") or "https://api.github.com"

    def pull_request(self) -> dict[str, Any] | None:
        pr = self.event.get("pull_request")
        if self.event_name in PR_EVENTS and isinstance(pr, dict) and isinstance(pr.get("number"), int):
            return pr
        return None

    def is_fork(self) -> bool:
        pr = self.pull_request() or {}
        head = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
        base = ((pr.get("base") or {}).get("repo") or {}).get("full_name")
        return bool(head and base and head != base)

    def run_url(self) -> str:
        server = self.env.get("GITHUB_SERVER_URL", "https://github.com")
        run_id = self.env.get("GITHUB_RUN_ID")
        return f"{server}/{self.repository}/actions/runs/{run_id}" if run_id and self.repository else ""

    def default_key(self, inputs: Inputs) -> str:
        return f"{self.env.get('GITHUB_WORKFLOW', 'workflow')}/{self.env.get('GITHUB_JOB', 'job')}/{inputs.input_set()}"


# -- PR comment ------------------------------------------------------------------------------

# GitHub's documented media type and a pinned REST API version, on every call.
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def publish_comment(report: Report, ctx: Context, inputs: Inputs, number: int, key: str, out: TextIO, commit: str = "") -> str:
    """Create/update the sticky comment. Returns the outcome word; never raises."""
    if not inputs.token:
        print("static-check: no github-token given; not commenting", file=out)
        return "skipped"
    if not ctx.repository:
        print("static-check: GITHUB_REPOSITORY is not set; not commenting", file=out)
        return "skipped"

    def log(msg: str) -> None:
        print(msg, file=out)

    with RestClient(ctx.api_url, inputs.token, service="GitHub", extra_headers=API_HEADERS, log=log) as client:
        try:
            result = StickyComment(client, ctx.repository, log=log).upsert(
                number, key, comment_text(report, ctx.run_url(), key, commit), create=should_create(inputs.comment, report)
            )
        except ApiError as exc:
            print(command("warning", _comment_failure(exc, ctx), title="static-check: PR comment not posted"), file=out)
            return "failed"
    if result.action == "skipped":
        print(f"static-check: no comment on PR #{number} (comment: {inputs.comment}, verdict {report.verdict})", file=out)
    else:
        print(f"static-check: PR #{number} comment {result.action}{f': {result.url}' if result.url else ''}", file=out)
    return result.action


def _comment_failure(exc: Exception, ctx: Context) -> str:
    text = str(exc)
    status = getattr(exc, "status", None)
    if status == 403 and "rate limit" not in text.lower():
        pattern = (
            "use the two-workflow pattern (upload the JSON report as an artifact, comment from a `workflow_run` job "
            "with the `report` input)."
        )
        if ctx.is_fork():
            why = (
                "this pull request comes from a fork, whose token is read-only whatever the job's "
                f"`permissions: pull-requests: write` says. To comment on fork pull requests, {pattern}"
            )
        else:
            why = (
                "the token cannot write comments. Give the job `permissions: pull-requests: write`; "
                f"for pull requests from forks, {pattern}"
            )
        return f"{text}. Could not comment: {why} The verdict, annotations and job summary are unaffected."
    return f"{text}. Could not comment; the verdict, annotations and job summary are unaffected."


# -- files in the workspace ------------------------------------------------------------------


def hand_over(path: Path, workspace: Path) -> None:
    """Give a file or directory we created to the workspace's owner: the container runs as root,
    later steps as the runner user, who must be able to read, overwrite and delete it."""
    if os.geteuid() != 0:
        return
    try:
        st = workspace.stat()
        os.chown(path, st.st_uid, st.st_gid)
    except OSError:
        path.chmod(0o777 if path.is_dir() else 0o666)


def write_in_workspace(path: Path, text: str, workspace: Path) -> None:
    created = [p for p in reversed(path.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    for d in created:
        hand_over(d, workspace)
    path.write_text(text, encoding="utf-8")
    hand_over(path, workspace)


def max_glibc_found(report: Report) -> str:
    found = [v for r in report.files if r.elf and (v := effective_glibc(r.elf))]
    return version_text(max(found)) if found else ""


def violations(report: Report) -> int:
    return sum(1 for r in report.files for f in r.findings if f.severity in ("error", "warning"))


def report_outputs(report: Report, report_path: str) -> dict[str, str]:
    return {
        "verdict": report.verdict,
        "violations": str(violations(report)),
        "max-glibc-found": max_glibc_found(report),
        "report": report_path,
    }


# -- main ------------------------------------------------------------------------------------


def run_check(inputs: Inputs) -> Report:
    policy = policy_from_settings(dict(inputs.policy), inputs.config or None)
    return check_paths(inputs.binaries, policy, RunOptions(fail_on=inputs.fail_on, archives=inputs.archives))


def main(env: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    env = os.environ if env is None else env
    out = out or sys.stdout
    try:
        inputs = Inputs.read(env)
    except ActionError as exc:
        print(command("error", str(exc), title="static-check: bad input"), file=out)
        return 2
    ctx = Context.read(env)
    workdir = (ctx.workspace / inputs.working_directory).resolve()
    try:
        os.chdir(workdir)
    except OSError as exc:
        print(command("error", f"working-directory {inputs.working_directory}: {exc.strerror}", title="static-check: bad input"), file=out)
        return 2
    if inputs.report:
        return comment_from_report(inputs, ctx, out)
    if not inputs.binaries:
        print(command("error", "input binaries is empty: give one or more paths or globs", title="static-check: bad input"), file=out)
        set_outputs(env, NO_REPORT_OUTPUTS, out)
        return 2
    try:
        report = run_check(inputs)
    except (PolicyError, NoInputError) as exc:
        print(command("error", str(exc), title="static-check: cannot run"), file=out)
        set_outputs(env, NO_REPORT_OUTPUTS, out)
        return 2
    return publish(report, inputs, ctx, out)


def publish(report: Report, inputs: Inputs, ctx: Context, out: TextIO) -> int:
    from checker.report import text

    print_untrusted(text.render(report, color=False), out)
    for line in annotations(report):
        print(line, file=out)
    append_file(ctx.env.get("GITHUB_STEP_SUMMARY"), job_summary(report), out)

    pr = ctx.pull_request()
    key = inputs.comment_key or ctx.default_key(inputs)
    data = json.loads(json_report.render(report))
    data["github"] = {
        "repository": ctx.repository,
        "pull_request": pr["number"] if pr else None,
        "head_sha": ((pr or {}).get("head") or {}).get("sha") or ctx.env.get("GITHUB_SHA"),
        "run_id": ctx.env.get("GITHUB_RUN_ID"),
        "comment_key": key,
        "comment": inputs.comment,
    }
    report_path = ctx.workspace / REPORT_PATH
    outputs = report_outputs(report, REPORT_PATH)
    what = "JSON report"
    try:
        write_in_workspace(report_path, json_report.dumps(data), ctx.workspace)
        if inputs.sarif:
            what = f"SARIF file (input sarif: {inputs.sarif})"
            write_in_workspace(Path(inputs.sarif).resolve(), sarif.render(report), ctx.workspace)
    except OSError as exc:
        print(command("error", f"cannot write the {what}: {exc.filename}: {exc.strerror}", title="static-check"), file=out)
        set_outputs(ctx.env, outputs, out)
        return 2
    set_outputs(ctx.env, outputs, out)

    if inputs.comment == "never":
        pass
    elif pr is None:
        print(f"static-check: not a pull request event ({ctx.event_name or 'unknown'}); skipping the PR comment", file=out)
    else:
        publish_comment(report, ctx, inputs, pr["number"], key, out, str(data["github"]["head_sha"] or ""))
    return exit_code(report, inputs.fail_on)


def comment_from_report(inputs: Inputs, ctx: Context, out: TextIO) -> int:
    """Second half of the fork-safe pattern: comment from a report made by an untrusted run."""
    try:
        report, raw = load_report(inputs.report)
    except ReportError as exc:
        print(command("error", str(exc), title="static-check: invalid report"), file=out)
        return 2
    gh = raw.get("github") if isinstance(raw.get("github"), dict) else {}
    number = gh.get("pull_request")
    key = inputs.comment_key or (gh.get("comment_key") if isinstance(gh.get("comment_key"), str) else "") or "report"
    print(f"static-check: report {inputs.report}: verdict {report.verdict}; {counts_line(report)}", file=out)
    append_file(ctx.env.get("GITHUB_STEP_SUMMARY"), job_summary(report), out)
    set_outputs(ctx.env, report_outputs(report, inputs.report), out)
    if inputs.comment == "never":
        return 0
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        print("static-check: the report names no pull request; not commenting", file=out)
        return 0
    if not pr_matches_run(ctx, inputs, number, out):
        return 0
    # pr_matches_run proved the PR's head is the commit the triggering run built.
    publish_comment(report, ctx, inputs, number, key, out, str(ctx.event["workflow_run"]["head_sha"]))
    return 0


def pr_matches_run(ctx: Context, inputs: Inputs, number: int, out: TextIO) -> bool:
    """The artifact names the PR, but a hostile PR could name any. Accept it only if that PR's
    head commit is the commit the triggering workflow run built."""
    run = ctx.event.get("workflow_run") if isinstance(ctx.event.get("workflow_run"), dict) else None
    head_sha = (run or {}).get("head_sha")
    if not head_sha:
        print("static-check: no workflow_run head commit to check the report's PR against; not commenting", file=out)
        return False
    if not inputs.token or not ctx.repository:
        print("static-check: no github-token or GITHUB_REPOSITORY; cannot verify the report's PR, not commenting", file=out)
        return False
    with RestClient(ctx.api_url, inputs.token, service="GitHub", extra_headers=API_HEADERS) as client:
        try:
            pr = client.json("GET", f"repos/{ctx.repository}/pulls/{number}")
        except ApiError as exc:
            print(command("warning", f"{exc}. Could not verify PR #{number}; not commenting.", title="static-check"), file=out)
            return False
    pr_head = ((pr or {}).get("head") or {}).get("sha") if isinstance(pr, dict) else None
    if pr_head != head_sha:
        print(
            command(
                "warning",
                f"the report names PR #{number}, whose head is not the commit the run built; not commenting",
                title="static-check",
            ),
            file=out,
        )
        return False
    return True
