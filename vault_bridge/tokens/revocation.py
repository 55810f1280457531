"""Revoke PATs: on the denylist in Vault before the caller hears back, then records removed."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from vault_bridge.audit import AuditLog
from vault_bridge.errors import NotFound
from vault_bridge.ids import check_account_id, check_token_id
from vault_bridge.timeutil import parse_iso
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.verify import VerifiedToken, Verifier
from vault_bridge.vault.records import PatRecord, PatRecords


class Revoker:
    """Revocation by id, for a whole account, or by value (a leaked token)."""

    def __init__(
        self,
        records: PatRecords,
        denylist: Denylist,
        verifier: Verifier,
        audit: AuditLog,
        forget: Callable[[str], None],
    ) -> None:
        self.records = records
        self.denylist = denylist
        self.verifier = verifier
        self.audit = audit
        self.forget = forget  # drops what this replica remembers of a token

    def revoke(self, user: str, token_id: str, actor: str | None = None) -> None:
        """Revoke one of the user's tokens; 404 when it does not exist."""
        check_account_id(user)
        check_token_id(token_id)
        stored = self.records.read(user, token_id)
        if stored is None:
            raise NotFound("no such token", code="token_not_found")
        self._revoke(user, [stored.data], actor or user)

    def revoke_all(self, user: str, actor: str | None = None) -> int:
        """Revoke every token of a user; returns how many."""
        check_account_id(user)
        records = self.records.all(user)
        self._revoke(user, records, actor or user)
        return len(records)

    def revoke_value(self, token: str) -> VerifiedToken:
        """Revoke a token given by value; its signature must verify."""
        verified = self.verifier.check_signature(token.strip())
        self.denylist.add({verified.token_id: verified.expires_at})
        self.records.destroy(verified.user, verified.token_id)
        self.forget(verified.token_id)
        self.audit.record(
            "pat.revoke",
            actor="operator",
            target=verified.token_id,
            owner=verified.user,
            method="by_value",
        )
        return verified

    def _revoke(self, user: str, records: Iterable[PatRecord], actor: str) -> None:
        entries = {
            record["id"]: int(parse_iso(record["expires_at"]).timestamp()) for record in records
        }
        if not entries:
            return
        self.denylist.add(entries)
        for token_id in entries:
            self.records.destroy(user, token_id)
            self.forget(token_id)
            self.audit.record("pat.revoke", actor=actor, target=token_id, owner=user)
