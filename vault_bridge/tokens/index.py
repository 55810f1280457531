"""The per-user index of PATs: every record of a user in one document, whatever their number.

Listing a user's tokens is one Vault read; creating, revoking or recording last use is one read
and one check-and-set write of that document. Expired and revoked tokens stay in it for
``RETENTION`` (30 days) after they became inactive, then are pruned with their per-token
records. A user whose records predate the index (an earlier version's data) is indexed on first
use: the records are read once and the index is created.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any, Literal, TypeVar

from vault_bridge.errors import VaultBridgeError
from vault_bridge.timeutil import iso
from vault_bridge.vault.documents import Document
from vault_bridge.vault.records import PatRecord, PatRecords, as_record

log = logging.getLogger(__name__)

RETENTION = dt.timedelta(days=30)
T = TypeVar("T")
State = Literal["active", "expired", "revoked"]
Table = dict[str, PatRecord]


def state_of(record: PatRecord, now: str, revoked: bool = False) -> State:
    """Whether a token works at ``now`` (an ISO time as ``timeutil.iso`` writes them, which
    compare as strings): revoked (also when the denylist says so), expired, or active."""
    if revoked or (record["revoked_at"] and record["revoked_at"] <= now):
        return "revoked"
    if record["expires_at"] <= now:
        return "expired"
    return "active"


def inactive_since(record: PatRecord, now: str) -> str | None:
    """When the token stopped working (None while it works)."""
    revoked = record["revoked_at"]
    end = min(record["expires_at"], revoked) if revoked else record["expires_at"]
    return end if end <= now else None


def retention_cutoff(now: dt.datetime) -> str:
    """Records inactive since before this are no longer kept."""
    return iso(now - RETENTION) or ""


def _retained(record: PatRecord, now: str, cutoff: str) -> bool:
    since = inactive_since(record, now)
    return since is None or since >= cutoff


def _records_of(document: Document | None) -> list[PatRecord]:
    if document is None:
        return []
    return [as_record(item) for item in document.value.get("tokens") or []]


class TokenIndex:
    """Reads and changes users' indexes; builds a missing one from the per-token records."""

    def __init__(self, records: PatRecords) -> None:
        self.store = records

    def records(self, user: str, now: dt.datetime) -> list[PatRecord]:
        """Every record of the user still retained (one read once indexed)."""
        document = self.store.read_index(user)
        if document is None:
            found = self.store.legacy(user)
            if found:
                self.update(user, lambda table: (None, False))  # index them now
        else:
            found = _records_of(document)
        moment, cutoff = iso(now) or "", retention_cutoff(now)
        return [r for r in found if _retained(r, moment, cutoff)]

    def find(self, user: str, token_id: str, now: dt.datetime) -> PatRecord | None:
        """One record of the user; None when unknown (or pruned)."""
        for record in self.records(user, now):
            if record["id"] == token_id:
                return record
        return None

    def update(
        self,
        user: str,
        change: Callable[[Table], tuple[T, bool]],
        now: Callable[[], dt.datetime] | None = None,
    ) -> T:
        """Apply ``change`` to the user's records (id -> record, mutable) and store the result
        with check-and-set, again on a lost race. ``change`` returns its result and whether it
        changed anything; nothing is written when neither it nor pruning did."""
        clock = now or (lambda: dt.datetime.now(dt.UTC))
        migrated: list[str] = []
        pruned: list[str] = []

        def apply(document: Document | None) -> tuple[Any, T]:
            current = self.store.legacy(user) if document is None else _records_of(document)
            migrated[:] = [r["id"] for r in current] if document is None else []
            table = {record["id"]: record for record in current}
            result, changed = change(table)
            moment = clock()
            stamp, cutoff = iso(moment) or "", retention_cutoff(moment)
            gone = [tid for tid, r in table.items() if not _retained(r, stamp, cutoff)]
            for token_id in gone:
                del table[token_id]
            pruned[:] = gone
            if not (changed or gone or (document is None and table)):
                return None, result
            return {"tokens": list(table.values())}, result

        result = self.store.update_index(user, apply, shrink=lambda value: _shrink(value, clock()))
        for token_id in migrated:
            quietly(self.store.set_owner, token_id, user)
        for token_id in pruned:
            quietly(self.store.destroy, user, token_id)
            quietly(self.store.drop_owner, token_id)
        return result

    def owner(self, token_id: str, users: Callable[[], Iterable[str]]) -> str | None:
        """The user a token id belongs to: the token-id index, and, until every user's records
        are indexed (data of an earlier version), one walk over ``users`` indexing them all."""
        user = self.store.owner(token_id)
        if user is not None or self.store.all_indexed():
            return user
        found = None
        now = dt.datetime.now(dt.UTC)
        for each in users():
            if any(record["id"] == token_id for record in self.records(each, now)):
                found = each
        self.store.mark_all_indexed()
        return found


def quietly(action: Callable[..., object], *args: str) -> None:
    """Housekeeping after a committed change: a failure is logged, not raised."""
    try:
        action(*args)
    except VaultBridgeError as exc:
        log.warning("PAT housekeeping: %s", exc.message)


def _shrink(value: dict[str, Any], now: dt.datetime) -> dict[str, Any] | None:
    """Drop the older half of the inactive records; None when there are none left to drop."""
    records = [as_record(item) for item in value["tokens"]]
    stamp = iso(now) or ""
    inactive = sorted(
        (since, record["id"])
        for record in records
        if (since := inactive_since(record, stamp)) is not None
    )
    if not inactive:
        return None
    drop = {token_id for _, token_id in inactive[: max(1, len(inactive) // 2)]}
    return {"tokens": [record for record in records if record["id"] not in drop]}
