"""Password sign-in through Vault userpass: POST/DELETE /api/v1/session."""

from __future__ import annotations

import pytest

from tests.helpers import Account, Api, unique_id
from vault_bridge.vault.sys import Sys


def test_login_returns_user_and_csrf_and_sets_cookie(client, user: Account) -> None:
    response = client.post("/api/v1/session", json={"username": user.id, "password": user.password})
    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["id"] == user.id
    assert len(body["csrf_token"]) >= 32
    cookie = response.headers["Set-Cookie"]
    assert "vault_bridge_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/api/v1/user").get_json()["id"] == user.id


@pytest.mark.parametrize(
    "body",
    [
        {"username": "nobody-here", "password": "whatever-password"},
        {"username": "admin", "password": ""},
        {"username": "../etc", "password": "x"},
        {"username": "UPPER", "password": "x"},
        {"username": 5, "password": "x"},
        {"password": "x"},
    ],
)
def test_bad_credentials_are_401_with_one_message(client, body) -> None:
    response = client.post("/api/v1/session", json=body)
    assert response.status_code == 401
    assert response.get_json()["error"] == {
        "code": "invalid_credentials",
        "message": "invalid username or password",
    }


def test_cookie_is_secure_over_https(client, user: Account) -> None:
    response = client.post(
        "/api/v1/session",
        json={"username": user.id, "password": user.password},
        base_url="https://vault-bridge.test",
    )
    assert response.status_code == 200
    assert "Secure" in response.headers["Set-Cookie"]
    plain = client.post("/api/v1/session", json={"username": user.id, "password": user.password})
    assert "Secure" not in plain.headers["Set-Cookie"]


def test_wrong_password_is_401_and_no_session(client, user: Account) -> None:
    response = client.post("/api/v1/session", json={"username": user.id, "password": "nope-nope"})
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    assert client.get("/api/v1/user").status_code == 401


def test_login_needs_json(client) -> None:
    response = client.post("/api/v1/session", data="username=a&password=b")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_logout_ends_session_and_needs_csrf(api: Api, user: Account) -> None:
    api.login(user)
    assert api.client.delete("/api/v1/session").status_code == 403  # no CSRF header
    assert (
        api.client.delete("/api/v1/session", headers={"X-CSRF-Token": api.csrf}).status_code == 204
    )
    assert api.client.get("/api/v1/user").status_code == 401


def test_tampered_session_cookie_is_not_a_session(client, user: Account) -> None:
    client.set_cookie("vault_bridge_session", "eyJ1c2VyIjoiYWRtaW4ifQ.forged.signature")
    assert client.get("/api/v1/user").status_code == 401


def test_session_of_deleted_user_stops_working(api: Api, make_user, admin) -> None:
    account = make_user()
    api.login(account)
    admin.accounts.delete(account.id, actor="test")
    from tests.helpers import eventually

    answers = []  # the first refusal says why (and ends the session: later ones cannot)

    def refused() -> bool:  # once the directory's cache of the user expires (0.5 s in tests)
        answers.append(api.client.get("/api/v1/user"))
        return answers[-1].status_code != 200

    eventually(refused)
    response = answers[-1]
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "user_not_found"


def test_sessions_are_503_not_500_while_the_session_key_cannot_be_read(
    make_app, admin_client, api: Api, user: Account
) -> None:
    """A replica that cannot read the session key (here: a KV mount without one, as before
    bootstrap) answers sign-in and session cookies with 503, never 500 or 401."""
    mount = unique_id("kv")
    Sys(admin_client).enable_secrets(mount, "kv", {"version": "2"})
    try:
        keyless = make_app(kv_mount=mount, vault_token=admin_client.token, role_id="", secret_id="")
        client = keyless.test_client()
        response = client.post(
            "/api/v1/session", json={"username": user.id, "password": user.password}
        )
        assert response.status_code == 503, response.get_json()
        assert response.get_json()["error"]["code"] == "not_bootstrapped"
        assert "Set-Cookie" not in response.headers

        # a browser that signed in on a healthy replica keeps its cookie: 503, not 401
        api.login(user)
        cookie = api.client.get_cookie("vault_bridge_session")
        assert cookie is not None
        client.set_cookie("vault_bridge_session", cookie.value)
        response = client.get("/api/v1/user")
        assert response.status_code == 503, response.get_json()
        assert client.get("/settings/personal-access-tokens").status_code == 503
        assert keyless.test_client().get("/api/v1/user").status_code == 401  # no cookie at all
    finally:
        admin_client.delete(f"sys/mounts/{mount}")
