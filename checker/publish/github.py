"""Sticky pull-request comment on GitHub (REST issue comments API).

One comment per (PR, key): found again by a hidden marker on its first line, updated in place,
created only when the caller wants one. A POST whose answer was lost is never blindly repeated:
the comments are listed again first, and if ours is there it was created after all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checker.publish.http import ApiError, RestClient, UncertainWriteError

MAX_BODY = 65_536  # GitHub rejects longer comment bodies with 422
SAFE_BODY = 65_000  # room for the marker and multi-byte surprises


def marker(key: str) -> str:
    """Hidden first line that identifies our comment; the key keeps matrix jobs apart."""
    clean = re.sub(r"[^A-Za-z0-9._/:@+= -]", "_", key).replace("--", "-_").strip() or "default"
    return f"<!-- static-check:sticky key={clean[:200]} -->"


def has_marker(body: str, mark: str) -> bool:
    return any(line.strip() == mark for line in body.splitlines()[:3])


def utf8_size(text: str) -> int:
    """Size in UTF-8 bytes. GitHub's error says "characters", but measurements of the limit differ
    by encoding and the step summary cap is in bytes: bytes are never fewer than characters."""
    return len(text.encode("utf-8"))


def fit_body(variants: list[str], limit: int = SAFE_BODY) -> str:
    """First variant (most detailed first) whose UTF-8 size fits; else the last one cut at a line,
    with a note."""
    for text in variants:
        if utf8_size(text) <= limit:
            return text
    text = variants[-1]
    note = "\n\n_The rest of this report was cut to fit GitHub's comment size limit; see the job summary or the JSON report._\n"
    close = "\n</details>"
    budget = limit - utf8_size(note) - utf8_size(close)
    cut = text.encode("utf-8")[: max(budget, 0)].decode("utf-8", "ignore")
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    # Do not leave a <details> block open: GitHub would swallow the note.
    if cut.count("<details") > cut.count("</details>"):
        cut += close
    return cut + note


@dataclass
class CommentResult:
    action: str  # created | updated | unchanged | skipped
    comment_id: int | None = None
    url: str | None = None


class StickyComment:
    def __init__(self, client: RestClient, repository: str, log: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.repository = repository
        self._log = log or (lambda m: None)

    def _comments_path(self, number: int) -> str:
        return f"repos/{self.repository}/issues/{number}/comments"

    def find(self, number: int, mark: str) -> dict[str, Any] | None:
        """Our earlier comment, looking through every page (busy PRs have hundreds). Anyone can
        paste the marker into a comment, so one written by a bot (the Actions token) wins."""
        found = [
            c
            for c in self.client.paginate(self._comments_path(number), params={"per_page": 100})
            if isinstance(c, dict) and has_marker(str(c.get("body") or ""), mark)
        ]
        bots = [c for c in found if (c.get("user") or {}).get("type") == "Bot"]
        return (bots or found or [None])[0]

    def upsert(self, number: int, key: str, text: str, *, create: bool) -> CommentResult:
        """Update our comment if there is one, else create it when `create` is true."""
        mark = marker(key)
        body = f"{mark}\n{text}"
        existing = self.find(number, mark)
        if existing is not None:
            return self._update(existing, body)
        if not create:
            return CommentResult("skipped")
        try:
            made = self.client.json("POST", self._comments_path(number), json={"body": body})
        except UncertainWriteError as exc:
            # The comment may exist now. Look before posting again, so a lost answer never doubles it.
            self._log(f"{exc}; checking whether the comment was created")
            existing = self.find(number, mark)
            if existing is not None:
                return self._update(existing, body) if existing.get("body") != body else _result("created", existing)
            made = self.client.json("POST", self._comments_path(number), json={"body": body})
        return _result("created", made)

    def _update(self, existing: dict[str, Any], body: str) -> CommentResult:
        if existing.get("body") == body:
            return _result("unchanged", existing)
        cid = existing.get("id")
        if not isinstance(cid, int):
            raise ApiError("GitHub API: comment without a numeric id")
        updated = self.client.json("PATCH", f"repos/{self.repository}/issues/comments/{cid}", json={"body": body})
        return _result("updated", updated or existing)


def _result(action: str, comment: Any) -> CommentResult:
    data = comment if isinstance(comment, dict) else {}
    cid = data.get("id")
    return CommentResult(action, cid if isinstance(cid, int) else None, data.get("html_url"))
