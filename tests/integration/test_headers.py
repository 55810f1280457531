"""Protective headers on every answer: each documented operation, each page of the settings UI,
static files, /metrics, and error answers (404, 405, 413, 400, 500), signed in or not."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.helpers import Account, Api, unique_id
from vault_bridge.headers import DATA_POLICY, PAGE_POLICY

HTML = {"Accept": "text/html"}
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<[^>]*\sstyle\s*=|<style", re.IGNORECASE)


def check_headers(response: Any, where: str) -> None:
    """The headers every answer carries, and the CSP that fits its kind."""
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    policy = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, where
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
    if response.mimetype == "text/html":
        assert policy == PAGE_POLICY, where
        page = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(page), f"{where}: inline script"
        assert not INLINE_HANDLER.search(page), f"{where}: inline event handler"
        assert not INLINE_STYLE.search(page), f"{where}: inline style"
    else:
        assert policy == DATA_POLICY, where


@pytest.fixture
def app(module_app):
    """The module's one app (``client`` and ``api`` are its clients): its tests read answers, or
    sign in an account of their own and create what they show; none changes the app. The tests
    that add routes to an app, or look at sign-in cookies, build their own."""
    return module_app


@pytest.fixture
def owner(api: Api, user: Account, admin) -> dict[str, str]:
    """A signed-in user owning an organization, with a PAT and a provider token: every page
    and operation has something real to show."""
    api.login(user)
    org = unique_id("hdr")
    assert (
        api.client.post(
            "/api/v1/orgs", json={"id": org}, headers={"X-CSRF-Token": api.csrf}
        ).status_code
        == 201
    )
    token = api.new_pat(scopes=("api", "quantum_tokens"))
    login_page = api.client.get("/login", headers=HTML).get_data(as_text=True)
    signed_in = api.client.post(  # the browser's sign-in, for the pages
        "/login",
        data={"csrf_token": csrf_in(login_page), "username": user.id, "password": user.password},
    )
    assert signed_in.status_code == 302
    return {
        "org": org,
        "user": user.id,
        "token_id": token["id"],
        "provider": "ibm-quantum",
        "backend_id": "azure.ionq.simulator",
        "job_id": "no-such-job",
        "pat": token["token"],
    }


def csrf_in(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def fill(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"[<{](?:[a-z]+:)?([a-z_]+)[>}]", lambda m: values.get(m.group(1), "x"), rule)


def test_every_operation_and_page_carries_the_headers(app, api: Api, owner) -> None:
    spec = api.client.get("/api/v1/openapi.json").get_json()
    anonymous = app.test_client()
    walked = pages = 0
    for path, item in spec["paths"].items():
        for method in item:
            if method not in {"get", "post", "put", "delete", "patch"}:
                continue
            url = fill(path, owner)
            # anonymous, with a session (no CSRF token: nothing changes), and with a PAT
            for client, headers in (
                (anonymous, {}),
                (api.client, {}),
                (anonymous, {"X-Auth-Token": owner["pat"]} if method == "get" else {}),
            ):
                response = client.open(url, method=method.upper(), headers=headers)
                check_headers(response, f"{method.upper()} {url} -> {response.status_code}")
                walked += 1
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or rule.endpoint == "web.static":
            continue
        url = fill(rule.rule, owner)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for client in (anonymous, api.client):
                response = client.open(url, method=method, headers=HTML)
                check_headers(response, f"page {method} {url} -> {response.status_code}")
                walked += 1
                pages += client is api.client and response.status_code == 200
    assert pages >= 10  # signed in, the pages render (not only redirects to /login)
    assert walked > 150


def test_a_new_token_page_has_no_inline_script(api: Api, owner) -> None:
    """The page that shows a new token once (its field selects itself on focus) stays clean."""
    page = api.client.get("/settings/personal-access-tokens", headers=HTML)
    csrf = csrf_in(page.get_data(as_text=True))
    created = api.client.post(
        "/settings/personal-access-tokens",
        data={"csrf_token": csrf, "name": "headers", "scopes": "api", "expiry": "7"},
        headers=HTML,
    )
    assert created.status_code == 303  # post/redirect/get: the value is on the next page
    shown = api.client.get(created.headers["Location"], headers=HTML)
    assert "data-select-on-focus" in shown.get_data(as_text=True)
    check_headers(shown, "the new token's page")


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/api/v1/no-such", {}, 404),
        ("GET", "/no/such/page", HTML, 404),
        ("GET", "/no/such/page", {}, 404),
        ("PUT", "/api/v1/user", {}, 405),
        ("GET", "/quantum/jobs/x/nope", {}, 404),
        ("POST", "/api/v1/session", {"Content-Type": "text/plain"}, 400),
        ("GET", "/static/web/app.js", {}, 200),
        ("GET", "/static/web/app.css", {}, 200),
        ("GET", "/static/web/missing.js", {}, 404),
        ("GET", "/metrics", {}, 200),
        ("GET", "/healthz", {}, 200),
        ("GET", "/.well-known/jwks.json", {}, 200),
    ],
)
def test_errors_static_and_metrics_carry_the_headers(
    client, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    response = client.open(path, method=method, headers=headers, data="x")
    try:
        assert response.status_code == status
        check_headers(response, f"{method} {path}")
    finally:
        response.close()  # a static file's handle


def test_too_large_and_unexpected_errors_carry_the_headers(make_app) -> None:
    app = make_app()

    def boom() -> str:
        raise RuntimeError("unexpected")

    app.add_url_rule("/api/v1/test-boom", "test_boom", boom)
    app.add_url_rule("/test-boom-page", "test_boom_page", boom)
    client = app.test_client()
    large = client.post("/api/v1/session", data="x" * (65 * 1024), content_type="application/json")
    assert large.status_code == 413
    check_headers(large, "413")
    for path, headers in (("/api/v1/test-boom", {}), ("/test-boom-page", HTML)):
        failed = client.get(path, headers=headers)
        assert failed.status_code == 500
        check_headers(failed, f"500 {path}")


def test_static_files_may_be_cached_api_answers_not(client) -> None:
    assert client.get("/api/v1/providers").headers["Cache-Control"] == "no-store"
    static = client.get("/static/web/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()
    assert client.get("/.well-known/jwks.json").headers["Cache-Control"] == "public, max-age=60"


def test_strict_transport_security_over_https_only(client) -> None:
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://vault-bridge.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_only_answers_that_depend_on_the_session_cookie_vary_on_it(make_app, user: Account) -> None:
    """A PAT's answer does not depend on cookies: no Vary: Cookie (shared caches may keep it
    per token) and no Set-Cookie; a session's answers vary on the cookie, as before."""
    app = make_app()
    api = Api(app.test_client())
    api.login(user)
    assert "Cookie" in api.client.get("/api/v1/user").vary
    pat = api.new_pat()["token"]
    bare = app.test_client(use_cookies=False)
    for path in ("/api/v1/user", "/healthz", "/api/v1/providers", "/api/v1/no-such-route"):
        answer = bare.get(path, headers={"X-Auth-Token": pat})
        assert "Cookie" not in answer.vary, path
        assert "Set-Cookie" not in answer.headers, path
    browser = app.test_client()
    login_page = browser.get("/login", headers=HTML)  # a page that may sign in
    assert "Cookie" in login_page.vary
    signed_in = browser.post(
        "/login",
        data={
            "csrf_token": csrf_in(login_page.get_data(as_text=True)),
            "username": user.id,
            "password": user.password,
        },
    )
    assert signed_in.status_code == 302
    # the session is the one cookie: no remember-me cookie outlives it
    assert browser.get_cookie("vault_bridge_session") is not None
    assert browser.get_cookie("remember_token") is None
    assert "Cookie" in browser.get("/", headers=HTML).vary
