"""Sessions are server-side facts bound to the account's identity entity: logout, a password
change, deleting the account (or deleting and re-creating its name) and disabling its entity end
them on every replica within the directory cache bound. Run-time grants are bound the same way."""

from __future__ import annotations

import re
import time

import pytest

from tests.helpers import Account, Api, eventually, pat_headers, unique_id

COOKIE = "vault_bridge_session"
HTML = {"Accept": "text/html"}


@pytest.fixture
def replicas(make_app):
    """Two app instances sharing the test Vault, as two replicas behind a load balancer."""
    return make_app(), make_app()


def cookie_of(api: Api) -> str:
    cookie = api.client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def replay(app, cookie: str):
    """A fresh client holding only a stolen copy of the cookie."""
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def refused(app, cookie: str, csrf: str, code: str | None = None) -> bool:
    """The copied cookie reads nothing and mints nothing on this replica."""
    client = replay(app, cookie)
    me = client.get("/api/v1/user")
    if me.status_code != 401 or (code and me.get_json()["error"]["code"] != code):
        return False
    created = replay(app, cookie).post(
        "/api/v1/user/personal-access-tokens",
        json={"name": unique_id("stolen"), "scopes": ["api"]},
        headers={"X-CSRF-Token": csrf},
    )
    listed = replay(app, cookie).get("/api/v1/user/personal-access-tokens")
    return created.status_code == 401 and listed.status_code == 401


def signed_in(app, account: Account) -> tuple[Api, str]:
    api = Api(app.test_client())
    api.login(account)
    cookie = cookie_of(api)
    assert replay(app, cookie).get("/api/v1/user").status_code == 200
    return api, cookie


def test_api_logout_ends_the_session_on_every_replica(replicas, user: Account, admin) -> None:
    one, two = replicas
    api, cookie = signed_in(one, user)
    assert replay(two, cookie).get("/api/v1/user").status_code == 200  # replica two saw it
    response = api.client.delete("/api/v1/session", headers={"X-CSRF-Token": api.csrf})
    assert response.status_code == 204
    assert refused(one, cookie, api.csrf, "session_ended")  # at once where it was ended
    ttl = admin.settings.directory_cache_ttl
    eventually(lambda: refused(two, cookie, api.csrf), timeout=ttl + 1.0)


def test_web_logout_ends_the_session_on_every_replica(replicas, user: Account, admin) -> None:
    one, two = replicas
    browser = one.test_client()
    page = browser.get("/login", headers=HTML).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf, "username": user.id, "password": user.password}
    assert browser.post("/login", data=form).status_code == 302
    cookie = browser.get_cookie(COOKIE).value
    assert replay(two, cookie).get("/settings/personal-access-tokens").status_code == 200
    page = browser.get("/logout", headers=HTML).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 302
    ttl = admin.settings.directory_cache_ttl
    for app in (one, two):
        eventually(lambda app=app: refused(app, cookie, csrf), timeout=ttl + 1.0)
        settings = replay(app, cookie).get("/settings/personal-access-tokens", headers=HTML)
        assert settings.status_code == 302 and "/login" in settings.headers["Location"]


def test_password_change_by_an_operator_ends_every_session(replicas, user: Account, admin) -> None:
    one, two = replicas
    first, cookie_one = signed_in(one, user)
    _, cookie_two = signed_in(two, user)
    assert admin.accounts.set_password(user.id, "a brand new password", actor="test") == 2
    ttl = admin.settings.directory_cache_ttl
    for app in (one, two):
        for cookie in (cookie_one, cookie_two):
            eventually(
                lambda app=app, cookie=cookie: refused(app, cookie, first.csrf),
                timeout=ttl + 1.0,
            )
    old = one.test_client().post(
        "/api/v1/session", json={"username": user.id, "password": user.password}
    )
    assert old.status_code == 401
    Api(one.test_client()).login(Account(user.id, "a brand new password"))


def test_own_password_change_ends_the_other_sessions(replicas, user: Account, admin) -> None:
    one, two = replicas
    api, _ = signed_in(one, user)
    _, elsewhere = signed_in(two, user)

    def change(current: str, new: str):
        return api.client.put(
            "/api/v1/user/password",
            json={"current_password": current, "new_password": new},
            headers={"X-CSRF-Token": api.csrf},
        )

    wrong = change("not the password", "another long password")
    assert wrong.status_code == 403
    assert wrong.get_json()["error"] == {
        "code": "wrong_password",
        "message": "the current password is wrong",
        "field": "current_password",
    }
    short = change(user.password, "short")
    assert short.status_code == 400 and short.get_json()["error"]["code"] == "invalid_password"
    assert replay(two, elsewhere).get("/api/v1/user").status_code == 200  # nothing changed yet
    changed = change(user.password, "another long password")
    assert changed.status_code == 204, changed.get_data(as_text=True)
    assert api.client.get("/api/v1/user").status_code == 200  # the session that asked stays
    ttl = admin.settings.directory_cache_ttl
    eventually(lambda: refused(two, elsewhere, api.csrf), timeout=ttl + 1.0)
    without_csrf = api.client.put(
        "/api/v1/user/password",
        json={"current_password": "another long password", "new_password": "x" * 12},
    )
    assert without_csrf.status_code == 403
    token = api.new_pat()["token"]
    by_pat = api.client.application.test_client().put(
        "/api/v1/user/password",
        json={"current_password": "another long password", "new_password": "x" * 12},
        headers=pat_headers(token),
    )
    assert by_pat.status_code == 403 and by_pat.get_json()["error"]["code"] == "session_required"


def test_disabling_the_entity_with_the_bao_cli_ends_sessions(
    replicas, make_user, admin, admin_client, bao_cli
) -> None:
    one, two = replicas
    account = make_user("dis")
    api, cookie = signed_in(one, account)
    assert replay(two, cookie).get("/api/v1/user").status_code == 200
    entity = f"identity/entity/name/{account.id}"
    bao_cli("write", entity, "disabled=true", token=admin_client.token)
    ttl = admin.settings.directory_cache_ttl
    for app in (one, two):
        eventually(lambda app=app: refused(app, cookie, api.csrf), timeout=ttl + 1.0)
    bao_cli("write", entity, "disabled=false", token=admin_client.token)
    admin.directory.forget(account.id)
    time.sleep(ttl + 0.1)
    for app in (one, two):  # enabled again: the account signs in anew, the old session stays over
        assert refused(app, cookie, api.csrf, "session_ended")
    signed_in(one, account)


def test_a_recreated_name_inherits_no_session(replicas, admin, make_user) -> None:
    one, two = replicas
    bob = make_user("bob")
    api, cookie = signed_in(one, bob)
    assert replay(two, cookie).get("/api/v1/user").status_code == 200
    admin.accounts.delete(bob.id, actor="test")
    admin.directory.create_user(bob.id, "the new bob's password", "New Bob")
    ttl = admin.settings.directory_cache_ttl
    for app in (one, two):
        eventually(lambda app=app: refused(app, cookie, api.csrf), timeout=ttl + 1.0)
    new_bob = Api(one.test_client())
    new_bob.login(Account(bob.id, "the new bob's password"))
    assert new_bob.client.get("/api/v1/user").get_json()["display_name"] == "New Bob"


def test_a_recreated_name_inherits_no_grant(make_app, live, admin, make_user, runner_vault) -> None:
    app = make_app()
    rita = make_user("rita")
    api = Api(app.test_client())
    api.login(rita)
    key = {"api_key": "ionqoldrita" + "R" * 29}
    put = api.client.put(
        "/api/v1/user/provider-access-tokens/ionq", json=key, headers={"X-CSRF-Token": api.csrf}
    )
    assert put.status_code == 201
    token = api.new_pat(scopes=["api", "quantum_tokens"])["token"]
    issued = app.test_client().post(
        "/api/v1/runtime/grants",
        json={"provider": "ionq", "job_id": unique_id("job")},
        headers=pat_headers(token),
    )
    assert issued.status_code == 201
    old_grant = issued.get_json()["grant"]

    admin.accounts.delete(rita.id, actor="test")
    admin.directory.create_user(rita.id, "the new rita's password")
    new_rita = Api(app.test_client())
    new_rita.login(Account(rita.id, "the new rita's password"))
    key = {"api_key": "ionqnewrita" + "N" * 29}
    put = new_rita.client.put(
        "/api/v1/user/provider-access-tokens/ionq",
        json=key,
        headers={"X-CSRF-Token": new_rita.csrf},
    )
    assert put.status_code == 201
    admin.directory.forget(rita.id)
    eventually(lambda: admin.directory.active_user(rita.id) is not None)
    time.sleep(admin.settings.directory_cache_ttl + 0.1)
    redeemed = app.test_client().post(
        "/api/v1/runtime/grants/redeem",
        json={"grant": old_grant},
        headers={"X-Vault-Token": runner_vault.token},
    )
    assert redeemed.status_code == 403, redeemed.get_json()
    assert redeemed.get_json()["error"]["code"] == "user_not_found"
