"""GitLab merge request notes: keep one sticky note per static-check job up to date.

The note carries a hidden HTML marker. GitLab lists notes 20 per page by default (newest first), so
the earlier note is searched on every page. Writing a note needs a personal/project/group access
token with `api` scope: CI_JOB_TOKEN may only read notes (GitLab answers 401 to a write).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from checker.publish.http import ApiError, RestClient, UncertainWriteError

# GitLab rejects note bodies above 1,000,000 characters; stay well below.
MAX_BODY = 900_000
MARKER_PREFIX = "<!-- static-check:gitlab-note"


@dataclass(frozen=True)
class MergeRequest:
    api_url: str  # CI_API_V4_URL, e.g. https://gitlab.example.com/gitlab/api/v4
    project: str  # CI_PROJECT_ID (numeric) or a full path such as group/sub/project
    iid: str  # CI_MERGE_REQUEST_IID

    @property
    def notes_path(self) -> str:
        # Project paths contain "/" and must be encoded as one path segment.
        return f"projects/{quote(self.project, safe='')}/merge_requests/{quote(self.iid, safe='')}/notes"


@dataclass(frozen=True)
class NoteResult:
    action: str  # created | updated | unchanged | skipped
    note_id: int | None = None


def marker(key: str) -> str:
    """Hidden marker; the key tells apart several static-check jobs in one merge request."""
    safe = "".join(c if c.isalnum() or c in "._:/@[], -" else "_" for c in key)[:200]
    while "--" in safe:  # "--" would end the HTML comment early and show the marker
        safe = safe.replace("--", "-_")
    return f"{MARKER_PREFIX} key={safe} -->"


def with_marker(body: str, key: str) -> str:
    tail = "\n\n" + marker(key) + "\n"
    if len(body) + len(tail) > MAX_BODY:
        note = "\n\n_Report truncated: see the job artifacts for the full report._"
        body = body[: MAX_BODY - len(tail) - len(note)] + note
    return body + tail


def client(mr: MergeRequest, token: str, log: Callable[[str], None] | None = None, **kwargs: Any) -> RestClient:
    return RestClient(mr.api_url, token, service="GitLab", auth_header="PRIVATE-TOKEN", auth_scheme=None, log=log, **kwargs)


def current_user_id(api: RestClient) -> int | None:
    """The token's user, to ignore notes by others that quote our marker; None if not allowed."""
    try:
        data = api.json("GET", "user")
    except ApiError:
        return None
    return data.get("id") if isinstance(data, dict) else None


def find_note(api: RestClient, mr: MergeRequest, key: str, user_id: int | None = None) -> dict[str, Any] | None:
    """The newest note carrying our marker, searched across all pages."""
    mark = marker(key)
    params = {"per_page": 100, "sort": "desc", "order_by": "created_at"}
    for note in api.paginate(mr.notes_path, params=params):
        if not isinstance(note, dict) or note.get("system") or mark not in str(note.get("body", "")):
            continue
        author = note.get("author") or {}
        if user_id is not None and author.get("id") != user_id:
            continue
        return note
    return None


def upsert_note(
    api: RestClient, mr: MergeRequest, body: str, key: str, *, create: bool = True, existing: dict[str, Any] | None = None
) -> NoteResult:
    """Update our earlier note or (when `create`) post a new one. Raises ApiError."""
    full = with_marker(body, key)
    if existing is None:
        existing = find_note(api, mr, key, current_user_id(api))
    if existing is not None:
        if existing.get("body") == full:
            return NoteResult("unchanged", existing.get("id"))
        api.json("PUT", f"{mr.notes_path}/{int(existing['id'])}", json={"body": full})
        return NoteResult("updated", existing.get("id"))
    if not create:
        return NoteResult("skipped")
    try:
        data = api.json("POST", mr.notes_path, json={"body": full})
    except UncertainWriteError:
        # The note may exist although the answer was lost: look before posting again.
        found = find_note(api, mr, key, current_user_id(api))
        if found is not None:
            return NoteResult("created", found.get("id"))
        data = api.json("POST", mr.notes_path, json={"body": full})
    return NoteResult("created", data.get("id") if isinstance(data, dict) else None)


def explain(exc: ApiError) -> str:
    """One line telling the user what to change; never contains the token."""
    if exc.status == 401:
        return (
            f"{exc}: GitLab refused the token. CI_JOB_TOKEN cannot write notes; set STATIC_CHECK_GITLAB_TOKEN "
            "to a project, group or personal access token with api scope (masked variable)"
        )
    if exc.status == 403:
        return f"{exc}: the token may not write notes here (it needs api scope, not read_api, and at least the Reporter role)"
    if exc.status == 404:
        return f"{exc}: project or merge request not found, or the token cannot see it"
    return str(exc)
