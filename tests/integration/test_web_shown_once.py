"""A new token's value crosses one redirect encrypted in the session cookie, bound to the
session it was made for, and is shown once."""

from __future__ import annotations

import base64
import re
import time
import zlib

import pytest
from flask import session
from vault_bridge.web import once

from tests.helpers import Account

HTML = {"Accept": "text/html"}


def signed_in(app, user: Account):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": csrf, "username": user.id, "password": user.password})
    return client


def cookie_text(client) -> str:
    """The session cookie as text, decompressed where Flask compressed it."""
    value = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"]).value
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode()


def test_the_value_is_never_in_the_cookie_in_clear_and_shows_once(app, user: Account) -> None:
    client = signed_in(app, user)
    page = client.get("/settings/personal-access-tokens").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = client.post(
        "/settings/personal-access-tokens",
        data={"csrf_token": csrf, "name": "once", "scopes": "api", "expiry": "7"},
        headers=HTML,
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/settings/personal-access-tokens#new-token")
    assert "vbpat_" not in cookie_text(client) and "eyJ" not in cookie_text(client)
    shown = client.get("/settings/personal-access-tokens", headers=HTML).get_data(as_text=True)
    token = re.search(r'value="(vbpat_[^"]+)"', shown).group(1)
    again = client.get("/settings/personal-access-tokens", headers=HTML).get_data(as_text=True)
    assert token not in again and "New token value" not in again


@pytest.mark.parametrize("tamper", ["other session", "too old", "garbled"])
def test_a_held_value_is_refused_outside_its_session_or_time(app, monkeypatch, tamper: str) -> None:
    with app.test_request_context("/"):
        session["sid"] = "s-1"
        once.hold({"token": "vbpat_x"})
        if tamper == "other session":
            session["sid"] = "s-2"
        elif tamper == "too old":
            later = time.time() + once.MAX_AGE + 5
            monkeypatch.setattr(time, "time", lambda: later)
        else:
            session[once.SESSION_KEY] = session[once.SESSION_KEY][:-4] + "AAAA"
        assert once.take() is None
        assert once.SESSION_KEY not in session  # gone either way


def test_a_held_value_is_taken_once(app) -> None:
    with app.test_request_context("/"):
        session["sid"] = "s-1"
        once.hold({"token": "vbpat_x", "name": "n"})
        assert once.take() == {"token": "vbpat_x", "name": "n"}
        assert once.take() is None
