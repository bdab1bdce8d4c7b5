"""Shared REST client for the GitHub and GitLab APIs.

Why a wrapper around `requests`: CI APIs fail in predictable ways (5xx from a proxy, 429 or a
GitHub "secondary rate limit" 403 with Retry-After) and a comment is never worth a failed job.
This client retries those a bounded number of times, honours Retry-After up to a cap, never
repeats a non-idempotent request whose outcome is unknown (the caller must look before it
posts again), follows pagination (`Link: rel="next"` and GitLab's `X-Next-Page`), refuses to
send the token to another host, and scrubs the token from every message it produces.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from checker import __version__

REDACTED = "***"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
# PATCH of a comment body is idempotent in practice (same body twice = same state).
RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_PAGES = 500  # 50,000 items at 100 per page: a runaway Link chain stops here


class ApiError(Exception):
    """A request failed for good. The message is one line and never contains the token."""

    def __init__(self, message: str, *, status: int | None = None, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path


class RateLimitedError(ApiError):
    """Rate limited, and the server asked us to wait longer than we are willing to."""


class UncertainWriteError(ApiError):
    """A non-idempotent request (POST) may or may not have been applied: the response was lost
    or was a 5xx. Retrying blindly could create a duplicate; re-read the state first."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # total tries per request, first one included
    max_wait: float = 60.0  # longest single wait we accept (Retry-After above this: give up)
    budget: float = 120.0  # total seconds spent waiting per request
    backoff: float = 1.0  # first wait after a 5xx or lost answer without a hint; doubles each time
    rate_limit_wait: float = 60.0  # rate limited without Retry-After: GitHub asks for at least a minute


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def retry_after_seconds(headers: Any, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or from GitHub's
    x-ratelimit-reset when the primary limit is exhausted."""
    value = headers.get("Retry-After")
    now = time.time() if now is None else now
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - now)
    if headers.get("x-ratelimit-remaining") == "0" and (reset := headers.get("x-ratelimit-reset", "")).isdigit():
        return max(0.0, float(reset) - now)
    return None


def is_rate_limited(resp: requests.Response) -> bool:
    """429 always; 403 only when it is a rate limit, not a permission problem."""
    if resp.status_code == 429:
        return True
    if resp.status_code != 403:
        return False
    if resp.headers.get("Retry-After") or resp.headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in resp.text[:2000].lower()


def error_message(resp: requests.Response) -> str:
    """The server's own reason: JSON `message` (GitHub) / `message`/`error` (GitLab), else text."""
    try:
        data = resp.json()
    except ValueError:
        return one_line(resp.text or resp.reason or "")
    if isinstance(data, dict):
        for key in ("message", "error", "error_description"):
            if data.get(key):
                msg = data[key]
                return one_line(msg if isinstance(msg, str) else str(msg))
    return one_line(resp.reason or "")


class _Session(requests.Session):
    """Drops a custom token header (GitLab's PRIVATE-TOKEN) on a redirect to another host, as
    requests already does for Authorization."""

    secret_header = "Authorization"

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        super().rebuild_auth(prepared_request, response)
        if self.should_strip_auth(response.request.url, prepared_request.url):
            prepared_request.headers.pop(self.secret_header, None)


class RestClient:
    """requests.Session bound to one API base URL and one token."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        service: str = "REST",
        auth_header: str = "Authorization",
        auth_scheme: str | None = "Bearer",
        extra_headers: dict[str, str] | None = None,
        timeout: tuple[float, float] = (10.0, 30.0),
        retry: RetryPolicy = RetryPolicy(),
        sleep: Callable[[float], None] = time.sleep,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.service = service
        self.timeout = timeout
        self.retry = retry
        self.sleep = sleep
        self._log = log
        self._secrets = (token,) if token else ()
        self.session = _Session()
        self.session.secret_header = auth_header
        self.session.headers["User-Agent"] = f"static-check/{__version__}"
        if extra_headers:
            self.session.headers.update(extra_headers)
        if token:
            self.session.headers[auth_header] = f"{auth_scheme} {token}" if auth_scheme else token

    # -- helpers ---------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def log(self, message: str) -> None:
        if self._log:
            self._log(self.redact(message))

    def url_for(self, path_or_url: str) -> str:
        """Join a path onto the base URL; absolute URLs must stay on the API's host."""
        if "://" in path_or_url:
            url = path_or_url
            base, other = urlsplit(self.base_url), urlsplit(url)
            if (base.scheme, base.netloc) != (other.scheme, other.netloc):
                raise ApiError(f"{self.service} API: refusing to follow a link to another host ({other.netloc})")
            return url
        return urljoin(self.base_url, path_or_url.lstrip("/"))

    def _fail(self, cls: type[ApiError], text: str, method: str, path: str, status: int | None = None) -> ApiError:
        return cls(self.redact(f"{self.service} API {method} {path}: {text}"), status=status, method=method, path=path)

    # -- requests --------------------------------------------------------------------------
    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> requests.Response:
        """Send one request with bounded retries; return a 2xx response or raise ApiError."""
        method = method.upper()
        idempotent = method in IDEMPOTENT
        url = self.url_for(path)
        shown = urlsplit(url).path
        waited = 0.0
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                resp = self.session.request(method, url, params=params, json=json, timeout=self.timeout)
            except requests.RequestException as exc:
                reason = f"{type(exc).__name__}: {one_line(str(exc), 200)}"
                if not idempotent:
                    raise self._fail(UncertainWriteError, f"no response ({reason})", method, shown) from None
                if last:
                    raise self._fail(ApiError, f"no response after {attempt} tries ({reason})", method, shown) from None
                wait = self._backoff(attempt)
            else:
                if resp.status_code < 400:
                    return resp
                text = f"{resp.status_code} {error_message(resp)}".strip()
                if is_rate_limited(resp):
                    hint = retry_after_seconds(resp.headers)
                    wait = self.retry.rate_limit_wait if hint is None else hint
                    if last or wait > self.retry.max_wait or waited + wait > self.retry.budget:
                        raise self._fail(RateLimitedError, f"rate limited ({text})", method, shown, resp.status_code)
                elif resp.status_code in RETRY_STATUSES:
                    if not idempotent:
                        raise self._fail(UncertainWriteError, text, method, shown, resp.status_code)
                    if last:
                        raise self._fail(ApiError, f"{text} (after {attempt} tries)", method, shown, resp.status_code)
                    hint = retry_after_seconds(resp.headers)
                    wait = min(self._backoff(attempt) if hint is None else hint, self.retry.max_wait)
                else:
                    raise self._fail(ApiError, text, method, shown, resp.status_code)
            if waited + wait > self.retry.budget:
                raise self._fail(ApiError, f"gave up after {attempt} tries", method, shown)
            self.log(f"{self.service} API {method} {shown}: retrying in {wait:.0f}s (try {attempt} of {self.retry.attempts})")
            self.sleep(wait)
            waited += wait
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return min(self.retry.backoff * 2 ** (attempt - 1), self.retry.max_wait)

    def json(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Any:
        resp = self.request(method, path, params=params, json=json)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise self._fail(ApiError, f"{resp.status_code} response is not JSON", method.upper(), urlsplit(resp.url).path) from None

    def paginate(self, path: str, *, params: dict[str, Any] | None = None, max_pages: int = MAX_PAGES) -> Iterator[Any]:
        """Yield the items of every page of a list endpoint.

        Uses GitLab's `X-Next-Page` when present: it is relative to the URL we called, whereas
        GitLab builds Link from its external_url, which runners behind a proxy or on an internal
        address often cannot reach. Otherwise follows `Link: <...>; rel="next"` (GitHub)."""
        url: str | None = path
        query: dict[str, Any] | None = dict(params or {})
        for _ in range(max_pages):
            assert url is not None
            resp = self.request("GET", url, params=query)
            try:
                items = resp.json()
            except ValueError:
                raise self._fail(ApiError, "list response is not JSON", "GET", urlsplit(resp.url).path) from None
            if not isinstance(items, list):
                raise self._fail(ApiError, "list response is not a JSON array", "GET", urlsplit(resp.url).path)
            yield from items
            page = resp.headers.get("X-Next-Page", "").strip()
            if page:
                url, query = path, {**(params or {}), "page": page}
                continue
            nxt = resp.links.get("next", {}).get("url")
            if nxt:
                url, query = nxt, None  # the link carries the whole query
                continue
            return
        raise self._fail(ApiError, f"more than {max_pages} pages; stopped", "GET", urlsplit(self.url_for(path)).path)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
