"""Rotating a PAT: a new token with the same name, scopes, restrictions and lifetime length; the
old one stops at the end of the grace period on every replica, also on one started later."""

from __future__ import annotations

import datetime as dt
import secrets
import time

import pytest

from tests.helpers import Account, Api, eventually, pat_headers
from vault_bridge.services import Services
from vault_bridge.timeutil import parse_iso
from vault_bridge.tokens.compaction import CompactionPolicy
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.vault.kv import KV
from vault_bridge.vault.revocations import RevocationStore

TOKENS = "/api/v1/user/personal-access-tokens"


def rotate(api: Api, token_id: str, **body) -> object:
    return api.client.post(
        f"{TOKENS}/{token_id}/rotate", json=body, headers={"X-CSRF-Token": api.csrf}
    )


def status(client, token: str) -> int:
    return client.get("/api/v1/user", headers=pat_headers(token)).status_code


def test_rotation_without_grace_replaces_the_token_now(make_app, make_user) -> None:
    replica_a, replica_b = make_app(), make_app()
    account = make_user()
    api = Api(replica_a.test_client())
    api.login(account)
    old = api.new_pat(
        "deploy",
        ["api", "quantum_tokens"],
        expires_at=(dt.date.today() + dt.timedelta(days=10)).isoformat(),
        description="CI deploys",
    )
    other = replica_b.test_client()
    assert status(other, old["token"]) == 200
    answer = rotate(api, old["id"])
    assert answer.status_code == 201, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    new = answer.get_json()
    assert new["id"] != old["id"] and new["token"].startswith("vbpat_")
    assert (new["name"], new["scopes"], new["description"]) == (
        "deploy",
        ["api", "quantum_tokens"],
        "CI deploys",
    )
    lifetime = parse_iso(old["expires_at"]) - parse_iso(old["created_at"])
    assert parse_iso(new["expires_at"]) - parse_iso(new["created_at"]) == lifetime
    assert status(api.client.application.test_client(), old["token"]) == 401
    eventually(lambda: status(other, old["token"]) == 401)
    assert status(other, new["token"]) == 200
    listed = {r["id"]: r for r in api.client.get(TOKENS, query_string={"state": "all"}).get_json()}
    assert listed[old["id"]]["state"] == "revoked"
    assert listed[old["id"]]["rotated_to"] == new["id"]
    assert listed[old["id"]]["revoked_by"] == account.id
    assert listed[new["id"]]["state"] == "active"


@pytest.mark.slow
def test_the_old_token_works_until_the_grace_period_ends_on_every_replica(
    make_app, make_user
) -> None:
    replica_a, replica_b = make_app(), make_app()
    account = make_user()
    api = Api(replica_a.test_client())
    api.login(account)
    old = api.new_pat("rolling")
    clients = [replica_a.test_client(), replica_b.test_client()]
    asked = time.time()
    new = rotate(api, old["id"], grace_seconds=4).get_json()
    answered = time.time()
    pending = {r["id"]: r for r in api.client.get(TOKENS).get_json()}[old["id"]]
    assert pending["state"] == "active" and pending["rotated_to"] == new["id"]
    ends = parse_iso(pending["grace_until"]).timestamp()
    assert asked + 4 - 1 <= ends <= answered + 4 + 1  # four seconds from the rotation (whole s)
    clients.append(make_app().test_client())  # started during the grace period: reads the log
    checked = 0
    while time.time() < ends - 0.3:  # both tokens work during the grace period, everywhere
        for client in clients:
            assert status(client, old["token"]) == 200
            assert status(client, new["token"]) == 200
        checked += 1
        time.sleep(0.2)
    assert checked >= 1  # a loaded machine may take most of the grace period to build an app
    while time.time() < ends + 1.0:
        time.sleep(0.05)
    for client in clients:  # at most the revocation bound (1 s) after the end
        assert status(client, old["token"]) == 401
        assert status(client, new["token"]) == 200
    again = rotate(api, old["id"])
    assert again.status_code == 404


def test_rotation_refusals(api: Api, user: Account, client, admin: Services) -> None:
    api.login(user)
    token = api.new_pat("x")
    for body, code in [
        ({"grace_seconds": -1}, "invalid_grace_seconds"),
        ({"grace_seconds": 604801}, "invalid_grace_seconds"),
        ({"grace_seconds": "60"}, "invalid_grace_seconds"),
        ({"grace_seconds": 1.5}, "invalid_grace_seconds"),
        ({"grace_seconds": True}, "invalid_grace_seconds"),
    ]:
        answer = rotate(api, token["id"], **body)
        assert answer.status_code == 400, body
        assert answer.get_json()["error"]["code"] == code
    assert rotate(api, "0" * 32).status_code == 404
    assert rotate(api, "not-an-id").status_code in (400, 404)
    by_pat = client.post(
        f"{TOKENS}/{token['id']}/rotate", json={}, headers=pat_headers(token["token"])
    )
    assert by_pat.status_code == 403
    assert by_pat.get_json()["error"]["code"] == "session_required"
    no_csrf = api.client.post(f"{TOKENS}/{token['id']}/rotate", json={})
    assert no_csrf.status_code == 403
    first = rotate(api, token["id"], grace_seconds=600)
    assert first.status_code == 201
    twice = rotate(api, token["id"])
    assert twice.status_code == 409 and twice.get_json()["error"]["code"] == "token_rotated"
    assert [r["name"] for r in api.client.get(TOKENS).get_json()].count("x") == 2
    other = api.new_pat("other")
    api.client.delete(f"{TOKENS}/{other['id']}", headers={"X-CSRF-Token": api.csrf})
    assert rotate(api, other["id"]).status_code == 404  # revoked
    assert status(client, token["token"]) == 200  # the refusals changed nothing


def test_later_revocations_survive_compaction_and_a_cold_start(admin: Services) -> None:
    kv = KV(admin.client, admin.settings.kv_mount)
    prefix = f"test-later-{secrets.token_hex(4)}"
    policy = CompactionPolicy(fold_after=1, delete_after=0.0)
    writer = Denylist(RevocationStore(kv, prefix), 10.0, policy=policy)
    writer.sync()
    soon, later, now_id = (secrets.token_hex(16) for _ in range(3))
    far = int(time.time()) + 3600
    writer.add({soon: far}, effective=int(time.time()) + 2)
    writer.add({later: far}, effective=int(time.time()) + 3600)
    writer.add({now_id: far})
    assert writer.is_revoked(now_id) and not writer.is_revoked(soon)
    writer.compactor.run(position=writer._cursor, live=3)
    fresh = Denylist(RevocationStore(kv, prefix), 10.0, policy=policy)
    fresh.sync()  # from the checkpoint's chunks
    assert fresh.is_revoked(now_id)
    assert not fresh.is_revoked(soon) and not fresh.is_revoked(later)
    assert fresh.revokes_at(later) is not None
    eventually(lambda: fresh.is_revoked(soon), timeout=3.0)
    fresh._settle()
    assert soon in fresh._ids and soon not in fresh._scheduled
    assert not fresh.is_revoked(later)
    writer.add({later: far})  # revoked now after all: wins over its later time
    fresh.sync()
    assert fresh.is_revoked(later)
    kv.destroy_tree(prefix)


def test_the_successor_of_a_token_in_its_grace_period_can_be_rotated(
    api: Api, user: Account, client
) -> None:
    """A replaced token still working through its grace period does not hold its name."""
    api.login(user)
    first = api.new_pat("ci")
    second = rotate(api, first["id"], grace_seconds=3600)
    assert second.status_code == 201
    third = rotate(api, second.get_json()["id"], grace_seconds=60)
    assert third.status_code == 201, third.get_json()
    for token in (first, second.get_json(), third.get_json()):
        assert status(client, token["token"]) == 200
    taken = api.create_pat("ci")  # the newest still holds the name
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "name_taken"
