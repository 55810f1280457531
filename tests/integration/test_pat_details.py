"""What a PAT listing tells: a description, the last use to the second with the last client
addresses, and inactive tokens (expired or revoked in the last 30 days) on request."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.helpers import Account, Api, pat_headers
from vault_bridge.services import Services
from vault_bridge.timeutil import iso, now_utc

TOKENS = "/api/v1/user/personal-access-tokens"

# The refusal tests share one session of the module's account on the module's app (``module_api``);
# the account never gets a token (as they check). Tests that create tokens do so for accounts of
# their own, on the shared app unless they look at an app's own unwritten last uses.


def test_description_is_kept_and_listed(module_app_api: Api, user: Account) -> None:
    api = module_app_api
    api.login(user)
    created = api.new_pat("ci", description="  nightly builds of the compiler  ")
    assert created["description"] == "nightly builds of the compiler"
    listed = api.client.get(TOKENS).get_json()
    assert listed[0]["description"] == "nightly builds of the compiler"
    assert api.new_pat("plain")["description"] is None


@pytest.mark.parametrize(
    "description", ["x" * 256, "line\nbreak", "tab\there", 42, ["a"], {"a": 1}]
)
def test_a_bad_description_is_400_and_creates_nothing(module_api: Api, description: object) -> None:
    api = module_api
    response = api.create_pat("n", description=description)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["code"] == "invalid_description"
    assert response.get_json()["error"]["field"] == "description"
    assert api.client.get(TOKENS).get_json() == []


def test_last_use_has_the_time_and_the_last_three_addresses(
    api: Api, user: Account, app, admin: Services
) -> None:
    api.login(user)
    created = api.new_pat()
    anon = app.test_client()
    for address in ("192.0.2.1", "192.0.2.2", "2001:db8::7", "192.0.2.2", "198.51.100.4"):
        answer = anon.get(
            "/api/v1/user",
            headers=pat_headers(created["token"]),
            environ_base={"REMOTE_ADDR": address},
        )
        assert answer.status_code == 200
    mine = api.client.get(TOKENS).get_json()[0]  # this replica's own unwritten uses
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", mine["last_used_at"])
    assert mine["last_used_addresses"] == ["198.51.100.4", "192.0.2.2", "2001:db8::7"]
    app.extensions["vault_bridge"].tokens.flush_last_used(force=True)
    stored = admin.tokens.list(user.id)[0]  # what every replica reads
    assert stored["last_used_at"] == mine["last_used_at"]
    assert stored["last_used_addresses"] == mine["last_used_addresses"]


def test_inactive_tokens_are_listed_on_request_with_when_and_by_whom(
    module_app_api: Api, user: Account, admin: Services
) -> None:
    api = module_app_api
    api.login(user)
    active = api.new_pat("active")
    revoked = api.new_pat("revoked")
    expired = api.new_pat("expired")
    assert (
        api.client.delete(
            f"{TOKENS}/{revoked['id']}", headers={"X-CSRF-Token": api.csrf}
        ).status_code
        == 204
    )
    yesterday = iso(now_utc() - dt.timedelta(days=1))

    def expire(table):
        table[expired["id"]]["expires_at"] = yesterday
        return None, True

    admin.tokens.index.update(user.id, expire)

    def listed(state: str | None = None) -> dict[str, dict]:
        answer = api.client.get(TOKENS, query_string={"state": state} if state else None)
        assert answer.status_code == 200, answer.get_json()
        return {r["id"]: r for r in answer.get_json()}

    assert set(listed()) == set(listed("active")) == {active["id"]}
    inactive = listed("inactive")
    assert set(inactive) == {revoked["id"], expired["id"]}
    assert inactive[revoked["id"]]["state"] == "revoked"
    assert inactive[revoked["id"]]["revoked_by"] == user.id
    assert inactive[revoked["id"]]["revoked_at"] <= iso(now_utc())
    assert inactive[expired["id"]]["state"] == "expired"
    assert inactive[expired["id"]]["revoked_at"] is None
    assert set(listed("all")) == {active["id"], revoked["id"], expired["id"]}
    assert all("token" not in r for r in listed("all").values())
    assert api.new_pat("revoked")["name"] == "revoked"  # inactive names are free again


@pytest.mark.parametrize("state", ["revoked", "ACTIVE", "", "all,active"])
def test_an_unknown_state_is_400(module_api: Api, state: str) -> None:
    api = module_api
    answer = api.client.get(TOKENS, query_string={"state": state})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_state"
