"""The shared REST client against a real loopback HTTP server."""

from __future__ import annotations

import pytest

from checker.publish.http import ApiError, RateLimitedError, RestClient, RetryPolicy, UncertainWriteError
from tests.fakeapi.server import FakeApiServer, Reply, Request

TOKEN = "ghs_SECRETtoken1234567890"


class ListServer(FakeApiServer):
    """/items: 7 numbered items; pages by Link (default) or X-Next-Page (?style=gitlab)."""

    def route(self, req: Request) -> Reply:
        if req.path == "/echo-token":
            return Reply(400, {"message": f"bad header {req.header('authorization')}"})
        if req.path == "/hop":
            return Reply(302, headers={"Location": req.query["to"]})
        if req.path == "/evil-link":
            return Reply(200, [1], headers={"Link": '<http://example.invalid/items?page=2>; rel="next"'})
        if req.path == "/forbidden":
            return Reply(403, {"message": "Resource not accessible by integration"})
        if req.path == "/create" and req.method == "POST":
            return Reply(201, {"id": 1})
        if req.path != "/items":
            return super().route(req)
        per_page, page = int(req.query.get("per_page", "3")), int(req.query.get("page", "1"))
        items = list(range(1, 8))[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < 7:
            if req.query.get("style") == "gitlab":
                headers["X-Next-Page"] = str(page + 1)
            else:
                nxt = f"{self.origin}/items?per_page={per_page}&page={page + 1}"
                headers["Link"] = f'<{nxt}>; rel="next", <{self.origin}/items>; rel="first"'
        return Reply(200, items, headers)


@pytest.fixture
def server():
    with ListServer() as srv:
        yield srv


def client(server: FakeApiServer, waits: list[float] | None = None, **kw) -> RestClient:
    sleeps = waits if waits is not None else []
    return RestClient(server.origin + "/api/v3", TOKEN, service="GitHub", sleep=sleeps.append, **kw)


def test_paginate_follows_link_next(server):
    # The base carries a path prefix (/api/v3 on GHES); the fake serves /items at the root, so
    # point at the root for this one.
    api = RestClient(server.origin, TOKEN, sleep=lambda s: None)
    assert list(api.paginate("/items", params={"per_page": 3})) == [1, 2, 3, 4, 5, 6, 7]
    pages = server.requests_to("GET", "/items")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3"]
    assert all(r.header("authorization") == f"Bearer {TOKEN}" for r in pages)


def test_paginate_follows_gitlab_x_next_page(server):
    api = RestClient(server.origin, TOKEN, auth_header="PRIVATE-TOKEN", auth_scheme=None, sleep=lambda s: None)
    assert list(api.paginate("items", params={"per_page": 2, "style": "gitlab"})) == [1, 2, 3, 4, 5, 6, 7]
    pages = server.requests_to("GET", "/items")
    assert [r.query.get("page", "1") for r in pages] == ["1", "2", "3", "4"]
    assert all(r.query["style"] == "gitlab" and r.header("private-token") == TOKEN for r in pages)
    assert all(r.header("authorization") is None for r in pages)


def test_base_path_prefix_is_kept(server):
    with pytest.raises(ApiError) as err:
        client(server).json("GET", "/repos/o/r")
    assert err.value.status == 404
    assert server.log[-1].path == "/api/v3/repos/o/r"


def test_get_retries_502_then_succeeds(server):
    server.inject("GET", "/items", Reply(502, "<html>Bad Gateway</html>"), times=2)
    waits: list[float] = []
    api = RestClient(server.origin, TOKEN, sleep=waits.append)
    assert api.json("GET", "/items", params={"per_page": 10}) == [1, 2, 3, 4, 5, 6, 7]
    assert len(server.requests_to("GET", "/items")) == 3
    assert waits == [1.0, 2.0]  # exponential backoff without a server hint


def test_secondary_rate_limit_honours_retry_after(server):
    limited = Reply(403, {"message": "You have exceeded a secondary rate limit."}, {"Retry-After": "7"})
    server.inject("GET", "/items", limited)
    waits: list[float] = []
    api = RestClient(server.origin, TOKEN, sleep=waits.append)
    assert api.json("GET", "/items", params={"per_page": 1}) == [1]
    assert waits == [7.0]


def test_retry_after_above_cap_gives_up_without_waiting(server):
    server.inject("GET", "/items", Reply(429, {"message": "slow down"}, {"Retry-After": "3600"}))
    waits: list[float] = []
    api = RestClient(server.origin, TOKEN, sleep=waits.append, retry=RetryPolicy(max_wait=60))
    with pytest.raises(RateLimitedError) as err:
        api.json("GET", "/items")
    assert waits == []
    assert err.value.status == 429
    assert "rate limited" in str(err.value)


def test_persistent_5xx_is_bounded(server):
    server.inject("GET", "/items", Reply(503, "down"), times=100)
    waits: list[float] = []
    api = RestClient(server.origin, TOKEN, sleep=waits.append, retry=RetryPolicy(attempts=3))
    with pytest.raises(ApiError) as err:
        api.json("GET", "/items")
    assert len(server.requests_to("GET", "/items")) == 3
    assert err.value.status == 503
    assert "after 3 tries" in str(err.value)


def test_post_with_5xx_is_not_repeated(server):
    server.inject("POST", "/create", Reply(502, "bad gateway"), mode="after")
    with pytest.raises(UncertainWriteError):
        RestClient(server.origin, TOKEN, sleep=lambda s: None).json("POST", "/create", json={"body": "x"})
    assert len(server.requests_to("POST", "/create")) == 1


def test_post_with_lost_response_is_not_repeated(server):
    server.inject("POST", "/create", mode="lost")
    with pytest.raises(UncertainWriteError) as err:
        RestClient(server.origin, TOKEN, sleep=lambda s: None).json("POST", "/create", json={"body": "x"})
    assert len(server.requests_to("POST", "/create")) == 1
    assert "no response" in str(err.value)


def test_post_rate_limited_is_retried(server):
    # A rate-limit answer means the request was refused, so sending it again cannot duplicate it.
    server.inject("POST", "/create", Reply(429, {"message": "secondary rate limit"}, {"Retry-After": "2"}))
    waits: list[float] = []
    assert RestClient(server.origin, TOKEN, sleep=waits.append).json("POST", "/create", json={}) == {"id": 1}
    assert waits == [2.0]
    assert len(server.requests_to("POST", "/create")) == 2


def test_permission_403_is_not_retried(server):
    waits: list[float] = []
    with pytest.raises(ApiError) as err:
        RestClient(server.origin, TOKEN, service="GitHub", sleep=waits.append).json("POST", "/forbidden", json={})
    assert err.value.status == 403
    assert str(err.value) == "GitHub API POST /forbidden: 403 Resource not accessible by integration"
    assert waits == []


def test_token_is_redacted_from_errors_and_logs(server):
    logs: list[str] = []
    api = RestClient(server.origin, TOKEN, sleep=lambda s: None, log=logs.append)
    with pytest.raises(ApiError) as err:
        api.json("GET", "/echo-token")
    assert TOKEN in server.log[-1].header("authorization")  # the server really saw it ...
    assert TOKEN not in str(err.value) and "***" in str(err.value)  # ... the message does not carry it
    assert err.value.__cause__ is None and err.value.__context__ is None


def test_refuses_links_to_other_hosts(server):
    api = RestClient(server.origin, TOKEN, sleep=lambda s: None)
    with pytest.raises(ApiError, match="another host"):
        list(api.paginate("/evil-link"))


def test_redirect_to_other_host_drops_custom_token_header(server):
    with ListServer() as other:
        target = other.origin.replace("127.0.0.1", "localhost") + "/items?per_page=10"
        api = RestClient(server.origin, TOKEN, auth_header="PRIVATE-TOKEN", auth_scheme=None, sleep=lambda s: None)
        assert api.json("GET", "/hop", params={"to": target}) == [1, 2, 3, 4, 5, 6, 7]
        landed = other.requests_to("GET", "/items")
        assert len(landed) == 1 and landed[0].header("private-token") is None


def test_rate_limit_without_hint_waits_a_minute(server):
    # GitHub: without Retry-After or an exhausted x-ratelimit-remaining, wait at least one minute.
    server.inject("GET", "/items", Reply(403, {"message": "You have exceeded a secondary rate limit."}))
    waits: list[float] = []
    assert RestClient(server.origin, TOKEN, sleep=waits.append).json("GET", "/items", params={"per_page": 1}) == [1]
    assert waits == [60.0]


def test_exhausted_primary_limit_waits_until_reset(server):
    import time

    reset = int(time.time()) + 30
    server.inject(
        "GET", "/items", Reply(403, {"message": "API rate limit exceeded"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
    )
    waits: list[float] = []
    RestClient(server.origin, TOKEN, sleep=waits.append).json("GET", "/items")
    assert len(waits) == 1 and 0 < waits[0] <= 30
