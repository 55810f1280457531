"""Personal access tokens: issue, verify, list and revoke, over one Vault connection."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.errors import Conflict, VaultBridgeError
from vault_bridge.ids import check_account_id
from vault_bridge.timeutil import iso, now_utc, parse_iso
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.keys import SigningKeys
from vault_bridge.tokens.maintenance import Maintenance
from vault_bridge.tokens.revocation import Revoker
from vault_bridge.tokens.rules import check_name, normalize_scopes, parse_expiry
from vault_bridge.tokens.signing import PatClaims, sign
from vault_bridge.tokens.usage import UsageTracker
from vault_bridge.tokens.verify import LEEWAY_SECONDS, VerifiedToken, Verifier
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.records import PatRecord, PatRecords
from vault_bridge.vault.revocations import RevocationStore
from vault_bridge.vault.sys import Sys
from vault_bridge.vault.transit import Transit

log = logging.getLogger(__name__)


class TokenService:
    """The PAT lifecycle; one instance per app, shared by its threads."""

    def __init__(self, client: VaultClient, settings: Settings, audit: AuditLog) -> None:
        self.settings = settings
        self.audit = audit
        kv = KV(client, settings.kv_mount)
        self.records = PatRecords(kv)
        self.keys = SigningKeys(
            Transit(client, settings.transit_mount, settings.transit_key),
            settings.algorithm,
            max_age=settings.key_refresh_interval,
        )
        self.denylist = Denylist.from_settings(RevocationStore(kv), settings, LEEWAY_SECONDS)
        self.verifier = Verifier(
            self.keys,
            self.denylist,
            issuer=settings.issuer,
            audience=settings.audience,
            confirm_fresh=self._confirm_revocations,
        )
        self.usage = UsageTracker(self.records, settings.last_used_interval)
        self.revoker = Revoker(self.records, self.denylist, self.verifier, audit, self._forget)
        leader = Sys(client).leader  # not audited: an idle replica re-reads no key
        self.maintenance = Maintenance(
            self.denylist,
            self.keys,
            self.usage.flush,
            poll_interval=settings.denylist_poll_interval,
            key_interval=settings.key_refresh_interval,
            flush_interval=min(5.0, settings.last_used_interval),
            key_check_interval=settings.key_check_interval,
            raft_index=lambda: leader().get("raft_applied_index"),
        )
        self.verify = self.verifier.verify
        self.touch = self.usage.touch
        self.flush_last_used = self.usage.flush
        self.revoke = self.revoker.revoke
        self.revoke_all = self.revoker.revoke_all
        self.revoke_value = self.revoker.revoke_value

    def start(self) -> None:
        """Load keys and denylist, then keep them fresh in the background (idempotent)."""
        self.maintenance.start()

    def _confirm_revocations(self) -> None:
        """Fail closed on a stale denylist. Without the background loop (operator commands, a
        service object never started) read it now, when older than one poll interval: one read
        when nothing changed, and no thread."""
        if (
            not self.maintenance.running
            and self.denylist.age > self.settings.denylist_poll_interval
        ):
            self.denylist.sync()
        self.denylist.check_fresh()

    def close(self) -> None:
        """Stop the background loop, writing pending last-used times first."""
        self.maintenance.close()
        try:
            self.usage.flush(force=True)
        except VaultBridgeError as exc:
            log.warning("could not write last-used times on shutdown: %s", exc.message)

    def issue(
        self, user: str, name: object, scopes: object, expires_at: object = None
    ) -> tuple[PatRecord, str]:
        """Create a PAT: its record goes to Vault, the token value only to the caller."""
        check_account_id(user)
        checked_name = check_name(name)
        scope_list = normalize_scopes(scopes)
        now = now_utc()
        expiry = parse_expiry(
            expires_at, now, self.settings.pat_default_days, self.settings.pat_max_days
        )
        for existing in self.records.all(user):
            if existing["name"] == checked_name and parse_iso(existing["expires_at"]) > now:
                raise Conflict(
                    f"you already have an active token named {checked_name!r}", code="name_taken"
                )
        record: PatRecord = {
            "id": secrets.token_hex(16),
            "name": checked_name,
            "scopes": scope_list,
            "created_at": iso(now) or "",
            "expires_at": iso(expiry) or "",
            "last_used_at": None,
        }
        self.records.create(user, record)
        self.audit.record(
            "pat.create",
            actor=user,
            target=record["id"],
            owner=user,
            name=checked_name,
            scopes=scope_list,
        )
        claims = PatClaims(
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            user=user,
            token_id=record["id"],
            scopes=tuple(scope_list),
            issued_at=int(now.timestamp()),
            expires_at=int(expiry.timestamp()),
        )
        return record, sign(self.keys, claims)

    def list(self, user: str) -> Sequence[PatRecord]:
        """A user's tokens, newest first, never with a value; last_used_at includes local uses."""
        check_account_id(user)
        records = [
            self.usage.overlay(record)
            for record in self.records.all(user)
            if not self.denylist.is_revoked(record["id"])  # revoked: its record is going away
        ]
        return sorted(records, key=lambda r: (r["created_at"], r["id"]), reverse=True)

    def _forget(self, token_id: str) -> None:
        self.usage.forget(token_id)
        self.verifier.forget(token_id)


__all__ = ["TokenService", "VerifiedToken"]
