"""The settings UI's server side: throttling, error pages, headers, redirects (no browser)."""

from __future__ import annotations

import re

from tests.helpers import Account, free_port

HTML = {"Accept": "text/html"}


def csrf_of(client, path: str = "/login") -> str:
    page = client.get(path, headers=HTML).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_sign_in_is_throttled_after_repeated_failures(client, user: Account) -> None:
    csrf = csrf_of(client)
    for _ in range(5):
        response = client.post(
            "/login", data={"csrf_token": csrf, "username": user.id, "password": "wrong-pass"}
        )
        assert response.status_code == 401
        assert "Wrong username or password." in response.get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf, "username": user.id, "password": user.password}
    )
    assert response.status_code == 429
    assert "too many failed sign-ins" in response.get_data(as_text=True)
    api = client.post("/api/v1/session", json={"username": user.id, "password": user.password})
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "too_many_attempts"


def test_sign_in_form_needs_its_csrf_token(client, user: Account) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": user.id, "password": user.password})
    assert response.status_code == 403
    assert "form expired" in response.get_data(as_text=True)


def test_only_local_redirects_after_sign_in(client, user: Account) -> None:
    csrf = csrf_of(client)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post(
            f"/login?next={target}",
            data={"csrf_token": csrf, "username": user.id, "password": user.password},
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/settings/personal-access-tokens"
        client.post("/logout", data={"csrf_token": csrf_of(client, "/logout")})
        csrf = csrf_of(client)


def test_vault_unavailable_is_a_calm_503_page(make_app) -> None:
    app = make_app(vault_addr=f"http://127.0.0.1:{free_port()}", vault_timeout=0.5)
    client = app.test_client()
    response = client.get("/login", headers=HTML)  # sessions are keyed from Vault: fail closed
    assert response.status_code == 503
    text = response.get_data(as_text=True)
    assert "Vault unavailable" in text and "Traceback" not in text


def test_pages_send_protective_headers_and_html_errors(client, user: Account) -> None:
    response = client.get("/login", headers=HTML)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    missing = client.get("/no/such/page", headers=HTML)
    assert missing.status_code == 404 and "text/html" in missing.headers["Content-Type"]
    api_missing = client.get("/api/v1/no-such", headers=HTML)
    assert api_missing.status_code == 404 and api_missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/settings/provider-access-tokens").status_code == 302  # to /login


def test_favicon_is_served_and_linked_from_every_page(make_app, client) -> None:
    login = client.get("/login", headers=HTML).get_data(as_text=True)
    linked = re.search(r'<link rel="icon" href="([^"]+)"', login).group(1)
    for path in ("/favicon.ico", linked):
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert response.mimetype == "image/svg+xml"
            assert response.get_data(as_text=True).startswith("<svg")
    with client.get("/favicon.ico") as response:
        assert "max-age=86400" in response.headers["Cache-Control"]  # asked for on every page
    # browsers ask for it on their own: it needs no session, so no Vault either
    down = make_app(vault_addr=f"http://127.0.0.1:{free_port()}", vault_timeout=0.5)
    with down.test_client().get("/favicon.ico") as response:
        assert response.status_code == 200
