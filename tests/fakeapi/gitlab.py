"""A loopback fake of the GitLab REST API v4 for merge request notes, behaving like gitlab.com and
self-managed instances where it matters to a note poster:

- the API may live under a path prefix (self-managed behind a reverse proxy: /gitlab/api/v4);
- projects are addressed by numeric id or URL-encoded full path (group%2Fsub%2Fproject);
- `PRIVATE-TOKEN` (or `Authorization: Bearer`) authenticates; an unknown token gets 401;
- a CI job token may only read notes: writing answers 401, as GitLab does;
- a read_api token reads but gets 403 on writes;
- notes list newest first, 20 per page by default (per_page max 100), with X-Page, X-Next-Page,
  X-Total, X-Total-Pages and a Link header, like GitLab's offset pagination.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from tests.fakeapi.server import FakeApiServer, Reply, Request


@dataclass(frozen=True)
class Token:
    user: dict[str, Any]
    kind: str = "api"  # api | read_api | job


@dataclass
class Project:
    id: int
    path: str  # full path, e.g. group/sub/project
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # MR iid -> notes, oldest first


class FakeGitLab(FakeApiServer):
    def __init__(self, prefix: str = "/api/v4") -> None:
        super().__init__()
        self.prefix = prefix.rstrip("/")
        # Which pagination headers to send: GitLab sends both; some proxies strip Link.
        self.send_link = True
        self.send_next_page = True
        # GitLab builds Link URLs from its external_url; a runner may reach it by another address.
        self.link_origin: str | None = None
        self.tokens: dict[str, Token] = {}
        self.projects: list[Project] = []
        self._ids = itertools.count(1000)
        self._time = itertools.count(1)

    # -- setup -----------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.origin + self.prefix

    def add_token(self, token: str, username: str, kind: str = "api") -> dict[str, Any]:
        user = {"id": len(self.tokens) + 1, "username": username, "name": username}
        self.tokens[token] = Token(user, kind)
        return user

    def add_project(self, project_id: int, path: str, mr_iids: tuple[int, ...] = (1,)) -> Project:
        project = Project(project_id, path, {iid: [] for iid in mr_iids})
        self.projects.append(project)
        return project

    def add_note(self, project: Project, iid: int, body: str, author: dict[str, Any], *, system: bool = False) -> dict[str, Any]:
        note = {
            "id": next(self._ids),
            "body": body,
            "author": author,
            "system": system,
            "created_at": f"2026-01-01T00:00:{next(self._time) % 60:02d}Z",
            "noteable_type": "MergeRequest",
            "noteable_iid": iid,
        }
        project.notes[iid].append(note)
        return note

    def notes(self, project: Project, iid: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(project.notes[iid])

    # -- routing ---------------------------------------------------------------------------
    def route(self, req: Request) -> Reply:
        if not req.path.startswith(self.prefix + "/"):
            return Reply(404, {"message": "404 Not Found"})
        parts = req.path[len(self.prefix) + 1 :].split("/")
        token = self._token(req)
        if token is None:
            return Reply(401, {"message": "401 Unauthorized"})
        if parts == ["user"]:
            if token.kind == "job":
                return Reply(401, {"message": "401 Unauthorized"})
            return Reply(200, token.user)
        if len(parts) < 5 or parts[0] != "projects" or parts[2] != "merge_requests" or parts[4] != "notes":
            return Reply(404, {"message": "404 Not Found"})
        project = self._project(parts[1])
        iid = int(parts[3]) if parts[3].isdigit() else -1
        if project is None or iid not in project.notes:
            return Reply(404, {"message": "404 Project Not Found" if project is None else "404 Not found"})
        if req.method != "GET":
            if token.kind == "job":
                return Reply(401, {"message": "401 Unauthorized"})
            if token.kind == "read_api":
                return Reply(403, {"error": "insufficient_scope", "error_description": "The request requires higher privileges."})
        if len(parts) == 5:
            if req.method == "GET":
                return self._list(req, project.notes[iid])
            if req.method == "POST":
                body = self._body(req)
                if body is None:
                    return Reply(400, {"message": "400 Bad request - body is missing"})
                return Reply(201, self.add_note(project, iid, body, token.user))
        elif len(parts) == 6 and parts[5].isdigit():
            note = next((n for n in project.notes[iid] if n["id"] == int(parts[5])), None)
            if note is None:
                return Reply(404, {"message": "404 Not found"})
            if req.method == "GET":
                return Reply(200, note)
            if req.method == "PUT":
                if note["author"]["id"] != token.user["id"]:
                    return Reply(403, {"message": "403 Forbidden"})
                body = self._body(req)
                if body is None:
                    return Reply(400, {"message": "400 Bad request - body is missing"})
                note["body"] = body
                return Reply(200, note)
        return Reply(405, {"message": "405 Method Not Allowed"})

    def _token(self, req: Request) -> Token | None:
        value = req.header("PRIVATE-TOKEN") or req.header("JOB-TOKEN")
        auth = req.header("Authorization") or ""
        if not value and auth.startswith("Bearer "):
            value = auth[len("Bearer ") :]
        return self.tokens.get(value or "")

    def _project(self, ident: str) -> Project | None:
        ident = unquote(ident)
        return next((p for p in self.projects if ident in (str(p.id), p.path)), None)

    @staticmethod
    def _body(req: Request) -> str | None:
        data = req.json() if req.body else None
        body = data.get("body") if isinstance(data, dict) else None
        return body if isinstance(body, str) and body else None

    def _list(self, req: Request, notes: list[dict[str, Any]]) -> Reply:
        per_page = min(max(int(req.query.get("per_page", "20") or 20), 1), 100)
        page = max(int(req.query.get("page", "1") or 1), 1)
        ordered = sorted(notes, key=lambda n: n["id"], reverse=req.query.get("sort", "desc") != "asc")
        total_pages = max(1, -(-len(ordered) // per_page))
        items = ordered[(page - 1) * per_page : page * per_page]
        headers = {"X-Page": str(page), "X-Per-Page": str(per_page), "X-Total": str(len(ordered)), "X-Total-Pages": str(total_pages)}
        if self.send_next_page:
            headers["X-Next-Page"] = str(page + 1) if page < total_pages else ""
        headers["X-Prev-Page"] = str(page - 1) if page > 1 else ""
        links = []
        base = f"{self.link_origin or self.origin}{req.path}"
        query = {k: v for k, v in req.query.items() if k != "page"}
        if page < total_pages:
            links.append(f'<{base}?{urlencode({**query, "page": page + 1})}>; rel="next"')
        links.append(f'<{base}?{urlencode({**query, "page": 1})}>; rel="first"')
        links.append(f'<{base}?{urlencode({**query, "page": total_pages})}>; rel="last"')
        if self.send_link:
            headers["Link"] = ", ".join(links)
        return Reply(200, items, headers)
