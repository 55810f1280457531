"""The personal access token pages in a real browser, against the real OpenBao: a new token shown
once after a redirect, the chosen expiry day, restrictions, regenerate with a grace period,
inactive tokens, search and sort, revoke all, and the owners' view of an organization."""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests

from tests.browser.session import sign_in
from tests.helpers import Account, eventually, unique_id

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


def test_regenerate_with_a_grace_period_shows_the_new_token_once(page, live, make_user, shot):
    server = live()
    account = make_user("pg")
    sign_in(page, server.url, account)
    old = create(page, "ci runner", "7")
    page.get_by_role("link", name="Regenerate ci runner").click()
    page.get_by_label("1 hour").check()
    shot(page, "pats-03-regenerate")
    page.get_by_role("button", name="Regenerate token").click()
    new = page.get_by_label("New token value").input_value()
    assert new != old and page.url.endswith(f"{PAGE}#new-token")
    assert "The old token keeps working until" in page.locator("#old-token-end").inner_text()
    assert with_token(server.url, old) == 200 and with_token(server.url, new) == 200
    old_row = page.locator("#token-table tbody tr", has_text="replaced; works until")
    assert old_row.count() == 1
    assert old_row.get_by_role("link", name="Regenerate ci runner").count() == 0  # only once
    page.reload()
    assert new not in page.content()

    # no grace: the old one stops now (the page says so)
    page.locator("#token-table tbody tr", has_text="ci runner").filter(
        has_not_text="replaced"
    ).get_by_role("link", name="Regenerate ci runner").click()
    page.get_by_role("button", name="Regenerate token").click()  # "None" is the default
    newest = page.get_by_label("New token value").input_value()
    assert "The old token stopped working." in page.content()
    assert with_token(server.url, new) == 401 and with_token(server.url, newest) == 200


def test_inactive_tokens_search_sort_and_revoke_all(new_page, live, make_user, shot) -> None:
    server = live()
    account = make_user("pi")
    api = Client(server.url, account)
    for name, scopes in (
        ("alpha", ["api"]),
        ("bravo", ["api", "quantum_tokens"]),
        ("zulu", ["api"]),
    ):
        assert api.call("POST", TOKENS, json={"name": name, "scopes": scopes}).status_code == 201
    gone = api.call("POST", TOKENS, json={"name": "old laptop", "scopes": ["api"]}).json()
    assert api.call("DELETE", f"{TOKENS}/{gone['id']}").status_code == 204
    page = new_page()
    sign_in(page, server.url, account, to=PAGE)

    names = page.locator("#token-table tbody tr:not([hidden]) td:first-child strong")
    page.get_by_label("Search tokens").fill("BRA")
    assert names.all_inner_texts() == ["bravo"]  # as you type, without a page load
    page.get_by_label("Search tokens").fill("")
    page.get_by_label("Scope").select_option("quantum_tokens")
    assert names.all_inner_texts() == ["bravo"]
    page.get_by_label("Scope").select_option("")
    page.get_by_label("Sort by").select_option("name")
    assert names.all_inner_texts() == ["alpha", "bravo", "zulu"]
    assert "sort=name" in page.url  # a reload keeps the order
    page.get_by_label("Search tokens").fill("nothing like it")
    assert page.get_by_text("No token matches.").is_visible()

    page.get_by_role("link", name="Inactive tokens").click()
    row = page.locator("#token-table tbody tr", has_text="old laptop")
    assert "revoked" in row.inner_text() and account.id in row.inner_text()
    assert "UTC" in row.inner_text()
    shot(page, "pats-04-inactive")

    page.get_by_role("link", name="Active tokens", exact=True).click()
    page.get_by_role("link", name="Revoke all").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Revoke all 3 tokens?"
    page.get_by_role("button", name="Revoke all 3 tokens").click()
    assert "Revoked 3 tokens." in page.get_by_role("status").inner_text()
    assert api.tokens() == []
    assert len(api.tokens("inactive")) == 4
    assert page.get_by_role("link", name="Revoke all").count() == 0


def test_search_and_sort_work_without_javascript(new_page, live, make_user) -> None:
    server = live()
    account = make_user("pn")
    api = Client(server.url, account)
    for name in ("mercury", "venus", "earth"):
        assert api.call("POST", TOKENS, json={"name": name, "scopes": ["api"]}).status_code == 201
    page = new_page(viewport=None, java_script_enabled=False)
    sign_in(page, server.url, account)
    names = page.locator("#token-table tbody td:first-child strong")
    page.get_by_label("Sort by").select_option("name")
    page.get_by_role("button", name="Apply").click()
    assert names.all_inner_texts() == ["earth", "mercury", "venus"]
    page.get_by_label("Search tokens").fill("VEN")
    page.get_by_role("button", name="Apply").click()
    assert "q=VEN" in page.url and names.all_inner_texts() == ["venus"]


def test_a_notice_names_the_tokens_that_expire_within_7_days(page, live, make_user, shot):
    server = live()
    account = make_user("pe")
    sign_in(page, server.url, account)
    assert page.locator("#expiring-notice").count() == 0
    create(page, "soon one", "7")
    create(page, "soon two", "7")
    create(page, "later", "30")
    assert (
        page.locator("#expiring-notice").inner_text().startswith("2 tokens expire within 7 days.")
    )
    page.set_viewport_size({"width": 375, "height": 800})  # the wide table scrolls in its box
    page.reload()
    wide = page.evaluate(  # what sticks out, for the failure message
        """() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > 376)
        .map(e => `${e.tagName}.${e.className}#${e.id}`).slice(0, 12)"""
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide
    shot(page, "pats-06-narrow")


def test_owners_see_and_block_members_tokens_used_in_the_organization(
    new_page, live, make_app, make_user, shot
) -> None:
    app = make_app()
    server = live(app)
    owner, member = make_user("po"), make_user("pm")
    boss, worker = Client(server.url, owner), Client(server.url, member)
    org = unique_id("lab")
    assert boss.call("POST", "/api/v1/orgs", json={"id": org}).status_code == 201
    joined = boss.call(
        "PUT", f"/api/v1/orgs/{org}/members/{member.id}", json={"role": "maintainer"}
    )
    assert joined.status_code == 200, joined.text
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=20)
    body = {"name": "lab jobs", "scopes": ["api"], "expires_at": day.isoformat()}
    created = worker.call("POST", TOKENS, json=body).json()
    token = created["token"]
    assert with_token(server.url, token, org) == 200
    app.extensions["vault_bridge"].tokens.flush_last_used(force=True)

    page = new_page()
    sign_in(page, server.url, owner, to=f"/organizations/{org}")
    page.get_by_role("link", name="Members' personal access tokens").click()
    row = page.locator("#org-token-table tbody tr", has_text="lab jobs")
    assert member.id in row.inner_text() and "api" in row.inner_text()
    assert "UTC" in row.inner_text() and f"after {day.day} {day:%b %Y}" in row.inner_text()
    assert token not in page.content()
    row.get_by_role("button", name=f"Block lab jobs of {member.id}").click()
    assert "blocked" in page.get_by_role("status").inner_text()
    shot(page, "pats-05-org-blocked")
    assert with_token(server.url, token, org) == 403
    assert with_token(server.url, token) == 200  # it keeps working elsewhere
    row.get_by_role("button", name=f"Unblock lab jobs of {member.id}").click()
    assert with_token(server.url, token, org) == 200
    page.context.close()

    # a maintainer neither sees the link nor reaches the page
    page = new_page(viewport=None)
    sign_in(page, server.url, member, to=f"/organizations/{org}")
    assert page.get_by_role("link", name="Members' personal access tokens").count() == 0
    answer = page.goto(f"{server.url}/organizations/{org}/personal-access-tokens")
    assert answer.status == 403
    status = page.evaluate(
        """async ([url]) => {
            const page = await fetch(location.href); const html = await page.text();
            const csrf = html.match(/name="csrf_token" value="([^"]+)"/)[1];
            const body = new URLSearchParams({csrf_token: csrf});
            const r = await fetch(url, {method: 'POST', body}); return r.status; }""",
        [f"{server.url}/organizations/{org}/personal-access-tokens/{created['id']}/block"],
    )
    assert status == 403
    assert with_token(server.url, token, org) == 200


def test_a_token_reported_as_leaked_is_a_security_notice_on_the_page(
    page, live, make_user, shot
) -> None:
    server = live()
    account = make_user("pl")
    owner = Client(server.url, account)
    body = {"name": "pasted in a gist", "scopes": ["api"]}
    token = owner.call("POST", TOKENS, json=body).json()["token"]
    reported = requests.post(
        f"{server.url}/api/v1/credentials/revoke", json={"tokens": [token]}, timeout=10
    )
    assert reported.status_code == 202
    eventually(lambda: with_token(server.url, token) == 401)
    eventually(lambda: owner.call("GET", "/api/v1/user/notices").json() != [])
    sign_in(page, server.url, account)
    notices = page.locator("#security-notices")
    text = notices.inner_text()
    assert '"pasted in a gist" was revoked: it was found exposed' in text
    assert token not in page.content()
    shot(page, "pats-07-security-notice")
