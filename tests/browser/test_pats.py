"""The personal access token pages in a real browser, against the real OpenBao: a new token shown
once after a redirect, the chosen expiry day, restrictions, regenerate with a grace period,
inactive tokens, search and sort, revoke all, and the owners' view of an organization."""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests

from tests.browser.test_ui import sign_in
from tests.helpers import Account, unique_id

PAGE = "/settings/personal-access-tokens"
TOKENS = "/api/v1/user/personal-access-tokens"


class Client:
    """A signed-in JSON API client over real HTTP (set-up and checks next to the browser)."""

    def __init__(self, base: str, account: Account) -> None:
        self.base = base
        self.http = requests.Session()
        answer = self.http.post(
            f"{base}/api/v1/session",
            json={"username": account.id, "password": account.password},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        self.http.headers["X-CSRF-Token"] = answer.json()["csrf_token"]

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f"{self.base}{path}", timeout=10, **kwargs)

    def tokens(self, state: str = "active") -> list[dict[str, Any]]:
        return self.call("GET", TOKENS, params={"state": state}).json()


def with_token(base: str, token: str, org: str | None = None) -> int:
    headers = {"X-Auth-Token": token}
    if org:
        headers["X-OrganizationId"] = org
    return requests.get(f"{base}/api/v1/user", headers=headers, timeout=10).status_code


def create(page: Any, name: str, expiry: str = "30", **extra: Any) -> str:
    """Fill in the create form, submit it and return the value shown once."""
    page.get_by_label("Name", exact=True).fill(name)
    if extra.get("description"):
        page.get_by_label("Description").fill(extra["description"])
    if expiry.startswith("20"):
        page.get_by_label("Expires").select_option("custom")
        page.locator("#expires_on").fill(expiry)
    else:
        page.get_by_label("Expires").select_option(expiry)
    for check in extra.get("check", ()):
        page.get_by_label(check).check()
    for uncheck in extra.get("uncheck", ()):
        page.get_by_label(uncheck).uncheck()
    page.get_by_role("button", name="Create token").click()
    return page.get_by_label("New token value").input_value()


def test_a_new_token_is_shown_once_after_a_redirect_with_the_chosen_day(
    page, live, make_user, shot
) -> None:
    server = live()
    account = make_user("pp")
    sign_in(page, server.url, account)
    methods: list[tuple[str, str, int]] = []
    page.on("response", lambda r: methods.append((r.request.method, r.url, r.status)))
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40)
    label = f"{day.day} {day:%b %Y}"
    token = create(page, "laptop CLI", day.isoformat())
    shot(page, "pats-01-created")

    # post/redirect/get: the form's answer is a redirect; the value is never in a URL or cookie
    posts = [m for m in methods if m[0] == "POST"]
    assert posts and posts[-1][2] == 303
    assert page.url == f"{server.url}{PAGE}#new-token"
    assert all(token not in url for _, url, _ in methods)
    assert all(token not in c["value"] for c in page.context.cookies())
    box = page.locator(".secret-once").inner_text()
    assert f"expires after {label}" in box
    row = page.locator("#token-table tbody tr", has_text="laptop CLI")
    assert f"after {label}" in row.inner_text()
    # the API keeps the exact instant: the end of the chosen day
    api = Client(server.url, account)
    (listed,) = api.tokens()
    assert listed["expires_at"] == f"{day + dt.timedelta(days=1)}T00:00:00Z"
    assert with_token(server.url, token) == 200

    page.reload()  # neither submits again nor shows the value again
    assert page.locator(".secret-once").count() == 0
    assert token not in page.content()
    assert "already have" not in page.content()
    assert len(api.tokens()) == 1

    page.get_by_role("link", name="Revoke laptop CLI").click()
    assert "stops working within 1 second, on every server" in page.content()
    assert "at once" not in page.content()
    page.get_by_role("button", name="Revoke token").click()
    assert "revoked" in page.get_by_role("status").inner_text()
    assert with_token(server.url, token) == 401


def test_a_token_with_a_description_restricted_to_chosen_places(
    page, live, make_app, make_user, shot
) -> None:
    app = make_app()
    server = live(app)
    account = make_user("pr")
    api = Client(server.url, account)
    acme, other = unique_id("acme"), unique_id("other")
    for org in (acme, other):
        assert api.call("POST", "/api/v1/orgs", json={"id": org}).status_code == 201
    sign_in(page, server.url, account)
    token = create(
        page,
        "acme jobs",
        description="nightly jobs on the lab server",
        check=["Only the organizations checked below"],
        uncheck=["Your personal account", other],
    )
    (listed,) = api.tokens()
    assert listed["description"] == "nightly jobs on the lab server"
    assert listed["organizations"] == [acme] and listed["personal"] is False
    assert with_token(server.url, token, acme) == 200
    assert with_token(server.url, token, other) == 403
    assert with_token(server.url, token) == 403

    row = page.locator("#token-table tbody tr", has_text="acme jobs")
    text = row.inner_text()
    assert "nightly jobs on the lab server" in text and acme in text
    assert "personal" not in text and other not in text and "never" in text
    app.extensions["vault_bridge"].tokens.flush_last_used(force=True)
    page.reload()
    used = row.inner_text()
    assert "never" not in used and "UTC" in used and "from 127.0.0.1" in used

    # a restriction that allows nothing is refused next to the field, and nothing is created
    page.get_by_label("Name", exact=True).fill("nowhere")
    page.get_by_label("Only the organizations checked below").check()
    page.get_by_label("Your personal account").uncheck()
    page.get_by_label(acme).uncheck()
    page.get_by_label(other).uncheck()
    page.get_by_role("button", name="Create token").click()
    assert "Choose your personal account, an organization, or both." in page.content()
    assert [t["name"] for t in api.tokens()] == ["acme jobs"]
    shot(page, "pats-02-restricted")
