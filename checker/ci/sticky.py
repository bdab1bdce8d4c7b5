"""When a CI run should post its sticky PR/MR comment: shared by the GitHub and GitLab modes."""

from __future__ import annotations

from checker.models import Report

# auto: when something is wrong (an earlier comment is always updated, e.g. to say it passes now);
# always: on every run; on-failure: when the verdict is not pass; never: no API call at all.
MODES = ("auto", "always", "on-failure", "never")


def should_create(mode: str, report: Report) -> bool:
    """Whether a run may create a new comment; updating an earlier one needs only mode != never."""
    if mode == "always":
        return True
    if mode == "on-failure":
        return report.verdict != "pass"
    if mode == "auto":
        return report.verdict != "pass" or any(f.severity in ("error", "warning") for r in report.files for f in r.findings)
    return False
