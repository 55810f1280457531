"""The PAT lifecycle through the API: create once, list without values, use, revoke."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.helpers import Account, Api, eventually, pat_headers

# Most tests share the module's app. Those that only send what is refused use one session of the
# module's account (``module_api``), which never gets a token (they check that its list stays
# empty); those that create tokens no other test reads use a second account's (``module_writer``).
# Tests that sign accounts of their own in, or watch an account's whole list, use a client of
# their own (``module_app_api``). Tests of revocation reaching an app, or of counted Vault calls,
# keep an app of their own.


def test_full_lifecycle(module_app_api: Api, user: Account) -> None:
    api = module_app_api  # the account's whole list is checked
    api.login(user)
    created = api.new_pat("laptop", ["api", "quantum_tokens"])
    assert {"id", "name", "scopes", "created_at", "expires_at", "token"} <= set(created)
    assert set(created) - {"description", "organizations", "personal"} == {
        "id",
        "name",
        "scopes",
        "created_at",
        "expires_at",
        "token",
    }
    assert created["scopes"] == ["api", "quantum_tokens"]
    token = created["token"]

    listed = api.client.get("/api/v1/user/personal-access-tokens").get_json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    assert token not in str(listed)

    for header in ("Authorization", "X-Auth-Token"):
        anon = api.client.application.test_client()
        me = anon.get("/api/v1/user", headers=pat_headers(token, header))
        assert me.status_code == 200, me.get_json()
        body = me.get_json()
        assert body["id"] == user.id
        assert body["token"]["id"] == created["id"]
        assert body["token"]["scopes"] == ["api", "quantum_tokens"]

    anon = api.client.application.test_client()
    revoked = anon.delete(
        f"/api/v1/user/personal-access-tokens/{created['id']}", headers=pat_headers(token)
    )
    assert revoked.status_code == 204
    after = anon.get("/api/v1/user", headers=pat_headers(token))
    assert after.status_code == 401
    assert after.get_json()["error"]["code"] == "token_revoked"
    assert api.client.get("/api/v1/user/personal-access-tokens").get_json() == []


def test_value_is_shown_once_and_never_stored(module_writer, admin) -> None:
    api, user = module_writer
    created = api.new_pat()
    record = admin.tokens.records.read(user.id, created["id"])
    assert record is not None
    index = admin.tokens.records.read_index(user.id)
    signature = created["token"].rsplit(".", 1)[1]
    for stored in (str(record.data), str(index.value)):
        assert created["token"] not in stored and signature not in stored


def test_pat_cannot_create_pat(module_writer) -> None:
    api, _ = module_writer
    token = api.new_pat(scopes=["api", "quantum_tokens"])["token"]
    anon = api.client.application.test_client()
    response = anon.post(
        "/api/v1/user/personal-access-tokens",
        json={"name": "minted", "scopes": ["api"]},
        headers=pat_headers(token),
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "session_required"


def test_create_needs_csrf(module_api: Api) -> None:
    api = module_api
    response = api.client.post(
        "/api/v1/user/personal-access-tokens", json={"name": "x", "scopes": ["api"]}
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf_failed"
    response = api.client.post(
        "/api/v1/user/personal-access-tokens",
        json={"name": "x", "scopes": ["api"]},
        headers={"X-CSRF-Token": "wrong"},
    )
    assert response.status_code == 403


def test_anonymous_is_401(module_app) -> None:
    client = module_app.test_client()
    for method, path in [
        ("get", "/api/v1/user"),
        ("get", "/api/v1/user/personal-access-tokens"),
        ("post", "/api/v1/user/personal-access-tokens"),
        ("delete", "/api/v1/user/personal-access-tokens/" + "a" * 32),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_name_must_be_unique_among_active_tokens(module_writer) -> None:
    api, _ = module_writer
    first = api.new_pat("ci")
    conflict = api.create_pat("ci")
    assert conflict.status_code == 409
    assert conflict.get_json()["error"]["code"] == "name_taken"
    assert (
        api.client.delete(
            f"/api/v1/user/personal-access-tokens/{first['id']}", headers={"X-CSRF-Token": api.csrf}
        ).status_code
        == 204
    )
    assert api.create_pat("ci").status_code == 201  # the revoked one no longer counts


def test_same_name_for_another_user_is_fine(module_app_api: Api, make_user) -> None:
    api = module_app_api
    alice, bob = make_user(), make_user()
    api.login(alice)
    api.new_pat("shared-name")
    api.login(bob)
    api.new_pat("shared-name")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"scopes": ["api"]}, "invalid_name"),
        ({"name": "", "scopes": ["api"]}, "invalid_name"),
        ({"name": "   ", "scopes": ["api"]}, "invalid_name"),
        ({"name": "x" * 101, "scopes": ["api"]}, "invalid_name"),
        ({"name": "tab\there", "scopes": ["api"]}, "invalid_name"),
        ({"name": 7, "scopes": ["api"]}, "invalid_name"),
        ({"name": "n"}, "invalid_scopes"),
        ({"name": "n", "scopes": []}, "invalid_scopes"),
        ({"name": "n", "scopes": ["admin"]}, "invalid_scopes"),
        ({"name": "n", "scopes": ["api", "root"]}, "invalid_scopes"),
        ({"name": "n", "scopes": [1]}, "invalid_scopes"),
        ({"name": "n", "scopes": {"api": True}}, "invalid_scopes"),
        ({"name": "n", "scopes": ["api"], "expires_at": "yesterday"}, "invalid_expires_at"),
        ({"name": "n", "scopes": ["api"], "expires_at": "2020-01-01"}, "invalid_expires_at"),
        ({"name": "n", "scopes": ["api"], "expires_at": "2999-01-01"}, "invalid_expires_at"),
        ({"name": "n", "scopes": ["api"], "expires_at": 1893456000}, "invalid_expires_at"),
        ({"name": "n", "scopes": ["api"], "expires_at": "2026-13-45"}, "invalid_expires_at"),
    ],
)
def test_bad_input_is_400_and_creates_nothing(module_api: Api, body, code) -> None:
    api = module_api
    response = api.client.post(
        "/api/v1/user/personal-access-tokens", json=body, headers={"X-CSRF-Token": api.csrf}
    )
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert api.client.get("/api/v1/user/personal-access-tokens").get_json() == []


def test_expiry_default_date_and_maximum(module_writer) -> None:
    api, _ = module_writer
    today = dt.datetime.now(dt.UTC).date()
    default = api.new_pat("default")
    expires = dt.datetime.fromisoformat(default["expires_at"].replace("Z", "+00:00"))
    assert 29.9 <= (expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400 <= 30.1

    date = (today + dt.timedelta(days=10)).isoformat()
    dated = api.new_pat("dated", expires_at=date)
    assert dated["expires_at"] == f"{(today + dt.timedelta(days=11)).isoformat()}T00:00:00Z"

    last_day = (today + dt.timedelta(days=366)).isoformat()
    assert api.create_pat("max", expires_at=last_day).status_code == 201
    too_far = (today + dt.timedelta(days=368)).isoformat()
    assert api.create_pat("too-far", expires_at=too_far).status_code == 400


def test_upper_case_scopes_from_planqk_are_accepted(module_writer) -> None:
    api, _ = module_writer
    assert api.new_pat(scopes=["API", "QUANTUM_TOKENS"])["scopes"] == ["api", "quantum_tokens"]


def test_pat_without_api_scope_is_refused(module_writer) -> None:
    api, _ = module_writer
    token = api.new_pat(scopes=["quantum_tokens"])["token"]
    response = api.client.application.test_client().get("/api/v1/user", headers=pat_headers(token))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "insufficient_scope"


def test_cannot_revoke_another_users_token(module_app_api: Api, make_user) -> None:
    api = module_app_api
    alice, bob = make_user(), make_user()
    api.login(alice)
    alice_token = api.new_pat()
    api.login(bob)
    bob_token = api.new_pat()["token"]
    anon = api.client.application.test_client()
    response = anon.delete(
        f"/api/v1/user/personal-access-tokens/{alice_token['id']}", headers=pat_headers(bob_token)
    )
    assert response.status_code == 404
    assert anon.get("/api/v1/user", headers=pat_headers(alice_token["token"])).status_code == 200


@pytest.mark.parametrize("token_id", ["..", "abc", "A" * 32, "g" * 32, "a" * 33])
def test_revoke_with_bad_id_is_400(module_api: Api, token_id: str) -> None:
    api = module_api
    response = api.client.delete(
        f"/api/v1/user/personal-access-tokens/{token_id}", headers={"X-CSRF-Token": api.csrf}
    )
    assert response.status_code in (400, 404)
    if response.status_code == 400:
        assert response.get_json()["error"]["code"] == "invalid_id"


def test_revoke_unknown_id_is_404(module_api: Api) -> None:
    api = module_api
    response = api.client.delete(
        "/api/v1/user/personal-access-tokens/" + "0" * 32, headers={"X-CSRF-Token": api.csrf}
    )
    assert response.status_code == 404


def test_deleting_a_user_revokes_their_tokens(api: Api, make_user, admin) -> None:
    account = make_user()
    api.login(account)
    token = api.new_pat()["token"]
    anon = api.client.application.test_client()
    assert anon.get("/api/v1/user", headers=pat_headers(token)).status_code == 200
    admin.accounts.delete(account.id, actor="test")  # done by another instance (the CLI)
    eventually(lambda: anon.get("/api/v1/user", headers=pat_headers(token)).status_code == 401)
    assert admin.tokens.records.ids(account.id) == []


def test_last_used_at_is_reported_without_a_vault_write_per_request(
    api: Api, user: Account, app, admin
) -> None:
    api.login(user)
    created = api.new_pat()
    assert created.get("last_used_at") is None
    services = app.extensions["vault_bridge"]
    anon = app.test_client()
    anon.get("/api/v1/user", headers=pat_headers(created["token"]))
    services.tokens.flush_last_used(force=True)  # the first use is written; now the others
    before, started = services.client.calls, time.monotonic()
    for _ in range(50):
        assert anon.get("/api/v1/user", headers=pat_headers(created["token"])).status_code == 200
    elapsed = time.monotonic() - started
    # the background threads poll the denylist meanwhile (4/s in tests), perhaps write
    # last-used times or re-read the keys; requests add nothing
    assert services.client.calls - before <= elapsed * (10 + 4) + 4
    listed = api.client.get("/api/v1/user/personal-access-tokens").get_json()
    assert listed[0]["last_used_at"] is not None
    # flushed to Vault, coalesced: one write of the user's index (by this call, or by the
    # background thread just before it)
    before = services.client.calls
    assert services.tokens.flush_last_used(force=True) in (0, 1)
    assert services.client.calls - before <= 2 + 10  # read and write (and background polls)
    stored = admin.tokens.list(user.id)
    assert stored[0]["last_used_at"] == listed[0]["last_used_at"]
    assert stored[0]["last_used_addresses"] == ["127.0.0.1"]
