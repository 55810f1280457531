"""Revoke PATs: on the denylist in Vault before the caller hears back, then marked in the index.

The denylist decides whether a token works; the index says when and by whom it was revoked (and
keeps the record listed as inactive for 30 days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from typing import Any

from vault_bridge.audit import AuditLog
from vault_bridge.errors import NotFound
from vault_bridge.ids import check_account_id, check_token_id
from vault_bridge.timeutil import iso, now_utc, parse_iso
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.index import Table, TokenIndex, state_of
from vault_bridge.tokens.verify import VerifiedToken, Verifier
from vault_bridge.vault.records import PatRecord


def _expiry(record: PatRecord) -> int:
    return int(parse_iso(record["expires_at"]).timestamp())


class Revoker:
    """Revocation by id, for a whole account, by value (a leaked token), or at a later time."""

    def __init__(
        self,
        index: TokenIndex,
        denylist: Denylist,
        verifier: Verifier,
        audit: AuditLog,
        forget: Callable[[Collection[str]], None],
    ) -> None:
        self.index = index
        self.denylist = denylist
        self.verifier = verifier
        self.audit = audit
        self.forget = forget  # drops what this replica remembers of tokens

    def revoke(self, user: str, token_id: str, actor: str | None = None) -> None:
        """Revoke one of the user's tokens; 404 when it is unknown or already revoked."""
        check_account_id(user)
        check_token_id(token_id)
        now = now_utc()
        record = self.index.find(user, token_id, now)
        stamp = iso(now) or ""
        if (
            record is None
            or state_of(record, stamp, self.denylist.is_revoked(token_id)) == "revoked"
        ):
            raise NotFound("no such token", code="token_not_found")
        self._revoke(user, {token_id: _expiry(record)}, actor or user)

    def revoke_all(self, user: str, actor: str | None = None) -> int:
        """Revoke every token of a user that still works; returns how many."""
        check_account_id(user)
        now = now_utc()
        stamp = iso(now) or ""
        entries = {
            record["id"]: _expiry(record)
            for record in self.index.records(user, now)
            if state_of(record, stamp, self.denylist.is_revoked(record["id"])) == "active"
        }
        self._revoke(user, entries, actor or user)
        return len(entries)

    def revoke_value(
        self, token: str, actor: str = "operator", method: str = "by_value"
    ) -> VerifiedToken:
        """Revoke a token given by value; its signature must verify (it may have expired)."""
        verified = self.verifier.check_signature(token.strip(), allow_expired=True)
        self._revoke(verified.user, {verified.token_id: verified.expires_at}, actor, method=method)
        return verified

    def revoke_verified(
        self, tokens: Iterable[VerifiedToken], actor: str, method: str, **details: Any
    ) -> None:
        """Revoke tokens whose signatures were verified, whoever owns them: one denylist append
        for all of them, then each owner's index."""
        by_user: dict[str, dict[str, int]] = {}
        for verified in tokens:
            by_user.setdefault(verified.user, {})[verified.token_id] = verified.expires_at
        entries = {tid: exp for owned in by_user.values() for tid, exp in owned.items()}
        if not entries:
            return
        self.denylist.add(entries)
        self.forget(entries.keys())
        for user, owned in by_user.items():
            self._mark(user, set(owned), actor, now_utc())
            for token_id in owned:
                self.audit.record(
                    "pat.revoke", actor=actor, target=token_id, owner=user, method=method, **details
                )

    def revoke_rotated(
        self, user: str, token_id: str, expires_at: int, at: dt.datetime, actor: str, new_id: str
    ) -> None:
        """Revoke a rotated token at ``at`` (now, or the end of its grace period): on every
        replica at that time; the index notes its successor."""
        if at <= now_utc():
            self.denylist.add({token_id: expires_at})
            self.forget([token_id])
        else:
            self.denylist.add({token_id: expires_at}, effective=int(at.timestamp()))
        self._mark(user, {token_id}, actor, at, rotated_to=new_id)
        self.audit.record(
            "pat.revoke",
            actor=actor,
            target=token_id,
            owner=user,
            method="rotation",
            effective_at=iso(at),
            replaced_by=new_id,
        )

    def _revoke(
        self, user: str, entries: dict[str, int], actor: str, method: str | None = None
    ) -> None:
        if not entries:
            return
        self.denylist.add(entries)
        self.forget(entries.keys())
        self._mark(user, set(entries), actor, now_utc())
        details = {"method": method} if method else {}
        for token_id in entries:
            self.audit.record("pat.revoke", actor=actor, target=token_id, owner=user, **details)

    def _mark(
        self,
        user: str,
        ids: set[str],
        actor: str,
        at: dt.datetime,
        rotated_to: str | None = None,
    ) -> None:
        """Note when and by whom in the index (an earlier time already noted stays)."""

        def mark(table: Table) -> tuple[None, bool]:
            changed = False
            stamp = iso(at) or ""
            for token_id in ids & table.keys():
                record = table[token_id]
                if rotated_to is not None:
                    record["rotated_to"] = rotated_to
                    changed = True
                current = record["revoked_at"]
                if current and current <= stamp:
                    continue
                record["revoked_at"] = stamp
                record["revoked_by"] = actor
                changed = True
            return None, changed

        self.index.update(user, mark)
