"""The per-user PAT index and the token-id index: constant Vault calls whatever the number of
tokens, records of earlier versions indexed on first use, inactive records pruned after 30 days."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest

from tests.helpers import Account
from vault_bridge.errors import Conflict
from vault_bridge.services import Services
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.tokens.index import RETENTION
from vault_bridge.vault.records import as_record


def _calls(services: Services, action) -> tuple[object, int]:
    before = services.client.calls
    result = action()
    return result, services.client.calls - before


def _legacy_record(name: str, days_left: int = 10) -> dict:
    now = now_utc()
    return {
        "id": secrets.token_hex(16),
        "name": name,
        "scopes": ["api"],
        "created_at": iso(now - dt.timedelta(days=1)),
        "expires_at": iso(now + dt.timedelta(days=days_left)),
        "last_used_at": None,
    }


def test_list_and_create_cost_the_same_calls_at_any_count(admin: Services, user: Account) -> None:
    tokens = admin.tokens
    tokens.issue(user.id, "first", ["api"])
    _, listed_once = _calls(admin, lambda: tokens.list(user.id))
    _, created_once = _calls(admin, lambda: tokens.issue(user.id, "second", ["api"]))
    for i in range(40):
        tokens.issue(user.id, f"bulk-{i}", ["api"])
    listed, listed_many = _calls(admin, lambda: tokens.list(user.id))
    _, created_many = _calls(admin, lambda: tokens.issue(user.id, "last", ["api"]))
    assert len(listed) == 42
    assert listed_once == listed_many == 1  # one read of the user's index
    assert created_once == created_many <= 5  # sign, record, token-id index, index read + write


def test_operators_find_a_token_by_id_in_one_read(admin: Services, user: Account) -> None:
    record, _ = admin.tokens.issue(user.id, "ci", ["api"])
    walked = []

    def users() -> list[str]:
        walked.append(True)
        return admin.directory.userpass.list_users()

    admin.tokens.records.mark_all_indexed()
    owner, calls = _calls(admin, lambda: admin.tokens.find_owner(record["id"], users))
    assert owner == user.id and calls == 1 and not walked
    missing, calls = _calls(admin, lambda: admin.tokens.find_owner("0" * 32, users))
    assert missing is None and calls == 2 and not walked  # the id, then "all indexed"


def test_records_of_an_earlier_version_are_indexed_on_first_use(
    admin: Services, user: Account
) -> None:
    kv = admin.tokens.records.kv
    old = [_legacy_record(f"old-{i}") for i in range(5)]
    for record in old:  # as an earlier version wrote them: no index, no token-id entries
        kv.write(f"users/{user.id}/personal-access-tokens/{record['id']}", record, cas=0)
    listed = admin.tokens.list(user.id)
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in old)
    assert all(r["state"] == "active" and r["last_used_addresses"] == [] for r in listed)
    _, calls = _calls(admin, lambda: admin.tokens.list(user.id))
    assert calls == 1  # indexed now
    assert admin.tokens.records.owner(old[0]["id"]) == user.id
    with pytest.raises(Conflict):  # their names count among the active tokens
        admin.tokens.issue(user.id, "old-1", ["api"])
    record, _ = admin.tokens.issue(user.id, "new", ["api"])
    admin.tokens.revoke(user.id, old[2]["id"], actor="ops")
    states = {r["id"]: r["state"] for r in admin.tokens.list(user.id, "all")}
    assert states[old[2]["id"]] == "revoked" and states[record["id"]] == "active"


def test_inactive_records_are_kept_30_days_then_pruned_with_their_records(
    admin: Services, user: Account
) -> None:
    tokens = admin.tokens
    gone, _ = tokens.issue(user.id, "gone", ["api"])
    recent, _ = tokens.issue(user.id, "recent", ["api"])
    keep, _ = tokens.issue(user.id, "keep", ["api"])
    long_ago = iso(now_utc() - RETENTION - dt.timedelta(hours=1))
    yesterday = iso(now_utc() - dt.timedelta(days=1))

    def backdate(table):
        table[gone["id"]]["revoked_at"] = long_ago
        table[gone["id"]]["revoked_by"] = user.id
        table[recent["id"]]["revoked_at"] = yesterday
        table[recent["id"]]["revoked_by"] = "operator"
        return None, True

    # written as if 40 days ago (nothing pruned then); reading now hides what is past retention
    tokens.index.update(user.id, backdate, now=lambda: now_utc() - dt.timedelta(days=40))
    assert len(tokens.records.read_index(user.id).value["tokens"]) == 3
    assert {r["id"] for r in tokens.list(user.id, "all")} == {recent["id"], keep["id"]}
    inactive = tokens.list(user.id, "inactive")
    assert {r["id"] for r in inactive} == {recent["id"]}  # past retention: no longer shown
    assert inactive[0]["revoked_by"] == "operator" and inactive[0]["revoked_at"] == yesterday
    tokens.index.update(user.id, lambda table: (None, False))  # any later write prunes
    document = tokens.records.read_index(user.id)
    assert {as_record(r)["id"] for r in document.value["tokens"]} == {recent["id"], keep["id"]}
    assert tokens.records.read(user.id, gone["id"]) is None
    assert tokens.records.owner(gone["id"]) is None
    assert tokens.records.read(user.id, recent["id"]) is not None


def test_the_active_token_limit_is_enforced(make_app, make_user) -> None:
    app = make_app(pat_max_per_user=3)
    tokens = app.extensions["vault_bridge"].tokens
    account = make_user()
    first = [tokens.issue(account.id, f"t{i}", ["api"])[0] for i in range(3)]
    with pytest.raises(Conflict) as refused:
        tokens.issue(account.id, "fourth", ["api"])
    assert refused.value.code == "too_many_tokens"
    assert (
        tokens.records.ids(account.id) == sorted(r["id"] for r in first)
        or len(tokens.records.ids(account.id)) == 3
    )  # the refused token left no record behind
    tokens.revoke(account.id, first[0]["id"])
    tokens.issue(account.id, "fourth", ["api"])
