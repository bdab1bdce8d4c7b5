"""A GitHub REST API flavour of the fake server: issue comments and pull requests.

Behaves like api.github.com where our code depends on it: bearer-token auth (401 "Bad
credentials"), read-only tokens (403 "Resource not accessible by integration", as fork PRs get),
pagination with `per_page` capped at 100 and RFC 8288 `Link` headers, 422 for bodies over
65,536 characters, and an optional `/api/v3` prefix like GitHub Enterprise Server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakeapi.server import FakeApiServer, Reply, Request

MAX_BODY = 65_536


@dataclass
class Token:
    login: str = "github-actions[bot]"
    write: bool = True


@dataclass
class FakeGitHub(FakeApiServer):
    prefix: str = ""  # "/api/v3" for GitHub Enterprise Server
    tokens: dict[str, Token] = field(default_factory=dict)
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1000

    def __post_init__(self) -> None:
        super().__init__()

    @property
    def api_url(self) -> str:
        return self.origin + self.prefix

    # -- test helpers ----------------------------------------------------------------------
    def add_comment(self, repo: str, number: int, body: str, login: str = "someone") -> dict[str, Any]:
        with self.lock:
            self.next_id += 1
            comment = {
                "id": self.next_id,
                "body": body,
                "user": {"login": login, "type": "Bot" if login.endswith("[bot]") else "User"},
                "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{self.next_id}",
            }
            self.comments.setdefault((repo, number), []).append(comment)
            return comment

    def comments_on(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.comments.get((repo, number), []))

    # -- routing ---------------------------------------------------------------------------
    def route(self, req: Request) -> Reply:
        if not req.path.startswith(self.prefix + "/"):
            return Reply(404, {"message": "Not Found"})
        path = req.path[len(self.prefix) :]
        auth = req.header("authorization") or ""
        scheme, _, value = auth.partition(" ")
        token = self.tokens.get(value) if scheme.lower() in ("bearer", "token") else None
        if token is None:
            return Reply(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/(\d+)/comments", path):
            repo, number = m.group(1), int(m.group(2))
            if req.method == "GET":
                return self._list(req, self.comments_on(repo, number))
            if req.method == "POST":
                return self._create(req, token, repo, number)
        if (m := re.fullmatch(r"/repos/([^/]+/[^/]+)/issues/comments/(\d+)", path)) and req.method == "PATCH":
            return self._edit(req, token, m.group(1), int(m.group(2)))
        if m := re.fullmatch(r"/repos/([^/]+/[^/]+)/pulls/(\d+)", path):
            pr = self.pulls.get((m.group(1), int(m.group(2))))
            if req.method == "GET" and pr is not None:
                return Reply(200, pr)
        return Reply(404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})

    def _list(self, req: Request, items: list[dict[str, Any]]) -> Reply:
        per_page = max(1, min(100, int(req.query.get("per_page", "30"))))
        page = max(1, int(req.query.get("page", "1")))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        base = f"{self.origin}{req.path}?per_page={per_page}"
        if page < last:
            links += [f'<{base}&page={page + 1}>; rel="next"', f'<{base}&page={last}>; rel="last"']
        if page > 1:
            links += [f'<{base}&page={page - 1}>; rel="prev"', f'<{base}&page=1>; rel="first"']
        return Reply(200, chunk, {"Link": ", ".join(links)} if links else {})

    def _check_write(self, req: Request, token: Token) -> Reply | None:
        if not token.write:
            return Reply(403, {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest"})
        body = (req.json() or {}).get("body")
        if not isinstance(body, str) or not body:
            return Reply(422, {"message": "Validation Failed", "errors": [{"field": "body", "code": "missing_field"}]})
        if len(body) > MAX_BODY:
            return Reply(422, {"message": "Validation Failed", "errors": [{"field": "body", "message": "body is too long"}]})
        return None

    def _create(self, req: Request, token: Token, repo: str, number: int) -> Reply:
        if problem := self._check_write(req, token):
            return problem
        return Reply(201, self.add_comment(repo, number, req.json()["body"], token.login))

    def _edit(self, req: Request, token: Token, repo: str, cid: int) -> Reply:
        if problem := self._check_write(req, token):
            return problem
        with self.lock:
            for (r, _), items in self.comments.items():
                for c in items:
                    if r == repo and c["id"] == cid:
                        c["body"] = req.json()["body"]
                        return Reply(200, c)
        return Reply(404, {"message": "Not Found"})
