"""A real HTTP server on loopback for API tests: threaded stdlib http.server, a request log and
fault injection. Service flavours (github.py, gitlab.py) subclass FakeApiServer and implement
`route(req) -> Reply`.

Faults let a test reproduce what production APIs do under load: a 502 from a proxy, a 403/429
with Retry-After, or a lost response (the request is applied, then the connection drops).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, str]  # first value of each parameter
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, str/bytes as is, None -> empty
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.body is None:
            return b"", headers
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return json.dumps(self.body).encode(), headers


@dataclass
class Fault:
    """Replace the next `times` matching requests' replies.

    mode "before": answer with `reply` without touching state (502, rate limit).
    mode "lost": run the real handler (state changes), then close the connection unanswered.
    mode "after": run the real handler, then answer with `reply` instead (e.g. 502 after a create)."""

    method: str
    path_re: str
    reply: Reply | None = None
    times: int = 1
    mode: str = "before"

    def matches(self, req: Request) -> bool:
        return self.times > 0 and self.method == req.method and re.fullmatch(self.path_re, req.path) is not None


class _Drop(Exception):
    """Close the connection without an answer."""


class FakeApiServer:
    """Threaded HTTP server on 127.0.0.1 with an ephemeral port. Use as a context manager."""

    def __init__(self) -> None:
        self.log: list[Request] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- to override -----------------------------------------------------------------------
    def route(self, req: Request) -> Reply:
        return Reply(404, {"message": "Not Found"})

    # -- fault injection -------------------------------------------------------------------
    def inject(self, method: str, path_re: str, reply: Reply | None = None, *, times: int = 1, mode: str = "before") -> Fault:
        fault = Fault(method.upper(), path_re, reply, times, mode)
        with self.lock:
            self.faults.append(fault)
        return fault

    def requests_to(self, method: str, path_re: str = ".*") -> list[Request]:
        with self.lock:
            return [r for r in self.log if r.method == method.upper() and re.fullmatch(path_re, r.path)]

    # -- dispatch --------------------------------------------------------------------------
    def dispatch(self, req: Request) -> Reply:
        with self.lock:
            self.log.append(req)
            fault = next((f for f in self.faults if f.matches(req)), None)
            if fault:
                fault.times -= 1
            if fault and fault.mode == "before":
                if fault.reply is None:
                    raise _Drop
                return fault.reply
            reply = self.route(req)
            if fault and fault.mode == "lost":
                raise _Drop
            if fault and fault.mode == "after" and fault.reply is not None:
                return fault.reply
            return reply

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApiServer:
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                req = Request(self.command, parts.path, query, headers, body)
                try:
                    reply = app.dispatch(req)
                except _Drop:
                    self.close_connection = True
                    return
                payload, out_headers = reply.encode()
                self.send_response(reply.status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fakeapi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
