"""One check run: discover -> inspect -> evaluate, producing a Report (no output, no CI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from checker import __version__
from checker.archives.limits import ArchiveLimits
from checker.discover import Candidate, discover
from checker.distros import compact_support, distro_support
from checker.evaluate import evaluate
from checker.inspect.elf_file import Inspection, OpenedFile, inspect_opened, inspect_path, open_file
from checker.inspect.raw import ElfParseError
from checker.models import FileResult, Report
from checker.parallel import Progress, auto_jobs, check_in_processes
from checker.policy import Policy

FAIL_ON = ("error", "warning", "never")
_NOT_PROGRAMS = {"relocatable": "relocatable object", "core": "core dump", "debug-only": "separate debug info"}


class NoInputError(Exception):
    """No file matched the given paths (exit 2 unless allowed)."""


@dataclass(frozen=True)
class RunOptions:
    fail_on: str = "error"
    allow_empty: bool = False
    archives: ArchiveLimits = field(default_factory=ArchiveLimits)  # how deep/much to read inside tar/zip/wheel/deb/rpm files
    jobs: int = 1  # processes that inspect files (1: all in this one; 0: `auto`, one per usable CPU for large runs, see parallel.py)


def check_paths(patterns: list[str], policy: Policy, options: RunOptions = RunOptions(), progress: Progress | None = None) -> Report:
    candidates = discover(patterns)
    if not candidates and not options.allow_empty:
        raise NoInputError(f"no files matched: {' '.join(patterns)}")
    jobs = options.jobs or auto_jobs(len(candidates))
    if jobs > 1 and len(candidates) > 1:
        results = check_in_processes(candidates, jobs, _check_chunk, policy, options, progress)
    else:
        results = []
        for i, cand in enumerate(candidates):
            if progress:
                progress(i, len(candidates), cand.path)
            results.extend(check_target(cand, policy, options))
    if progress:
        progress(len(candidates), len(candidates), "")
    return build_report(results, policy, patterns)


def _check_chunk(chunk: list[Candidate], policy: Policy, options: RunOptions) -> list[FileResult]:
    return [result for cand in chunk for result in check_target(cand, policy, options)]


def check_target(cand: Candidate, policy: Policy, options: RunOptions) -> list[FileResult]:
    """One result for a file; for an archive, its own entry plus one per ELF member.

    The file is opened and sniffed once: its first bytes say whether it is ELF (inspected on the
    same handle) or possibly an archive (detected on the same handle, then read by archives/).
    """
    if cand.problem or cand.skip:
        return [check_candidate(cand, policy, options)]
    try:
        with open_file(cand.path) as opened:
            fmt = _archive_format(opened, cand.path)
            if fmt is None:
                return [inspect_and_judge(cand.path, lambda: inspect_opened(opened, cand.path), policy, options)]
    except OSError as exc:
        return [FileResult(cand.path, "error", reason=_unreadable(exc))]
    from checker.archives.check import check_archive  # imports judge from here

    return check_archive(cand.path, fmt, policy, options)


def _archive_format(opened: OpenedFile, path: str) -> str | None:
    if not opened.regular or opened.kind == "elf":  # an ELF file is never read as an archive
        return None
    from checker.archives.detect import detect

    try:
        return detect(opened.fh, path)
    except OSError:
        return None  # inspection reports the file as it is


def check_candidate(cand: Candidate, policy: Policy, options: RunOptions) -> FileResult:
    if cand.problem:
        return FileResult(cand.path, "error", reason=cand.problem)
    if cand.skip:
        return FileResult(cand.path, "skipped", reason=cand.skip)
    return inspect_and_judge(cand.path, lambda: inspect_path(cand.path), policy, options)


def inspect_and_judge(path: str, inspect: Callable[[], Inspection], policy: Policy, options: RunOptions) -> FileResult:
    """Inspect (any failure becomes an `error` result naming the reason), then judge."""
    try:
        inspection = inspect()
    except ElfParseError as exc:
        return FileResult(path, "error", reason=str(exc))
    except OSError as exc:
        return FileResult(path, "error", reason=_unreadable(exc))
    except Exception as exc:  # a bug on one odd file must not hide the verdicts of the others
        return FileResult(path, "error", reason=internal_error(exc))
    try:
        return judge(path, inspection, policy, options)
    except Exception as exc:
        return FileResult(path, "error", reason=internal_error(exc), elf=inspection.facts)


def _unreadable(exc: OSError) -> str:
    return f"cannot read ({exc.strerror or exc})"


def internal_error(exc: BaseException) -> str:
    """One line for a bug in static-check itself; the file is reported as error, never as pass."""
    text = " ".join(str(exc).split())[:160]
    return f"internal error while checking this file ({type(exc).__name__}{': ' + text if text else ''}); please report it"


def judge(path: str, inspection: Inspection, policy: Policy, options: RunOptions) -> FileResult:
    """Apply the policy to an inspected file (also used for archive members)."""
    if inspection.kind != "elf" or inspection.facts is None:
        return FileResult(path, "skipped", reason=inspection.kind)
    facts = inspection.facts
    if facts.type in _NOT_PROGRAMS or facts.type.startswith("unknown"):
        reason = _NOT_PROGRAMS.get(facts.type, f"ELF type {facts.type}")
        return FileResult(path, "skipped", reason=f"{reason}: not a program or library", elf=facts, extra=inspection.extra)
    # A packed file is judged by the program inside; `elf` still describes the file itself.
    program = inspection.program.facts or facts
    findings = evaluate(program, inspection.extra, policy.rules_for(path))
    result = FileResult(path, file_status(findings, options.fail_on), elf=facts, findings=findings, extra=inspection.extra)
    unverified = inspection.extra.get("packer") and inspection.unpacked is None
    support = None if unverified else distro_support(program)
    if support is not None:
        result.runs_on, result.not_on = support
        result.extra = {**result.extra, "portability": compact_support(*support)}
    return result


def file_status(findings: list, fail_on: str) -> str:  # type: ignore[type-arg]
    levels = {"error"} if fail_on in ("error", "never") else {"error", "warning"}
    return "fail" if any(f.severity in levels for f in findings) else "pass"


def build_report(results: list[FileResult], policy: Policy, patterns: list[str]) -> Report:
    report = Report(files=results, policy=policy.describe(), tool_version=__version__)
    statuses = {r.status for r in results}
    report.verdict = "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"
    if not policy.rules.has_limits and not policy.overrides:
        report.notes.append("no limit was set (no target, max-glibc, require-static, allowed-needed or arch): facts only")
    if not any(r.elf for r in results):
        report.notes.append(f"no ELF files found in: {' '.join(patterns)}")
    return report


def exit_code(report: Report, fail_on: str) -> int:
    """0 pass, 1 policy violation, 2 unreadable input."""
    if report.verdict == "error":
        return 2
    if report.verdict == "fail" and fail_on != "never":
        return 1
    return 0
