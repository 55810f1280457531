"""Personal access tokens: issue, verify, list and revoke, over one Vault connection."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, Literal

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.errors import BadRequest, Conflict, NotFound, VaultBridgeError
from vault_bridge.ids import check_account_id, check_token_id
from vault_bridge.mail import Mailer
from vault_bridge.timeutil import iso, now_utc, parse_iso
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.index import State, Table, TokenIndex, quietly, state_of
from vault_bridge.tokens.keys import SigningKeys
from vault_bridge.tokens.maintenance import KeyWatch, Maintenance, Task
from vault_bridge.tokens.notices import Address, Notices, event_of
from vault_bridge.tokens.org_access import OrgAccess
from vault_bridge.tokens.reports import PublicRevocations
from vault_bridge.tokens.revocation import Revoker
from vault_bridge.tokens.rules import (
    check_description,
    check_name,
    check_restriction,
    normalize_scopes,
    parse_expiry,
)
from vault_bridge.tokens.signing import PatClaims, sign
from vault_bridge.tokens.usage import UsageTracker
from vault_bridge.tokens.verify import LEEWAY_SECONDS, VerifiedToken, Verifier
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.notices import NoticeStore
from vault_bridge.vault.org_tokens import OrgTokenStore
from vault_bridge.vault.records import PatRecord, PatRecords
from vault_bridge.vault.revocations import RevocationStore
from vault_bridge.vault.sys import Sys
from vault_bridge.vault.transit import Transit

log = logging.getLogger(__name__)

GRACE_MAX = 7 * 86400  # the longest a rotated token keeps working
Wanted = Literal["active", "inactive", "all"]


def new_record(
    name: str,
    scopes: list[str],
    created: dt.datetime,
    expiry: dt.datetime,
    description: str | None,
) -> PatRecord:
    """A new token's record (unrestricted, never used)."""
    return {
        "id": secrets.token_hex(16),
        "name": name,
        "scopes": list(scopes),
        "created_at": iso(created) or "",
        "expires_at": iso(expiry) or "",
        "last_used_at": None,
        "description": description,
        "organizations": None,
        "personal": True,
        "last_used_addresses": [],
        "revoked_at": None,
        "revoked_by": None,
        "rotated_to": None,
    }


class TokenService:
    """The PAT lifecycle; one instance per app, shared by its threads."""

    def __init__(
        self,
        client: VaultClient,
        settings: Settings,
        audit: AuditLog,
        address: Address | None = None,
    ) -> None:
        """``address`` gives a user's display name and e-mail for notices (None: no e-mail)."""
        self.settings = settings
        self.audit = audit
        kv = KV(client, settings.kv_mount)
        self.records = PatRecords(kv)
        self.index = TokenIndex(self.records)
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
            prefix=settings.pat_prefix,
        )
        self.org_access = OrgAccess(OrgTokenStore(kv), self.denylist, audit)
        self.usage = UsageTracker(self.index, org_sink=self.org_access.record)
        self.revoker = Revoker(self.index, self.denylist, self.verifier, audit, self._forget)
        self.notifier = Notices(
            NoticeStore(kv),
            self.index,
            Mailer(settings),
            address or (lambda _user: None),
            settings.issuer.rstrip("/") + "/settings/personal-access-tokens",
            self.denylist.is_revoked,
        )
        self.reports = PublicRevocations(
            self.revoker,
            self.verifier,
            self.denylist,
            audit,
            per_minute=settings.public_revoke_per_minute,
            notify=self._reported,
        )
        leader = Sys(client).leader
        self.key_watch = KeyWatch(
            self.keys,
            settings.key_refresh_interval,
            raft_index=lambda: leader().get("raft_applied_index"),
        )
        self.maintenance = Maintenance(
            self.denylist,
            [
                Task("signing-keys", settings.key_check_interval, self.key_watch.check),
                Task("last-used", settings.last_used_interval, self.usage.flush),
                Task(
                    "expiry-reminders",
                    settings.reminder_interval,
                    lambda: self.notifier.scan(settings.reminder_interval),
                    spread=True,
                ),
            ],
        )
        self.verify = self.verifier.verify
        self.touch = self.usage.touch
        self.is_blocked = self.org_access.is_blocked
        self.flush_last_used = self.usage.flush
        self.revoke = self.revoker.revoke
        self.revoke_all = self.revoker.revoke_all
        self.revoke_value = self.revoker.revoke_value

    def start(self) -> None:
        """Load keys and denylist, then keep them fresh in the background (idempotent)."""
        self.maintenance.start(before=self.key_watch.refresh)

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
        """Stop the background work, writing pending last-used times first."""
        self.reports.close()
        self.notifier.close()
        self.maintenance.close()
        try:
            self.usage.flush(force=True)
        except VaultBridgeError as exc:
            log.warning("could not write last-used times on shutdown: %s", exc.message)

    def issue(
        self,
        user: str,
        name: object,
        scopes: object,
        expires_at: object = None,
        *,
        description: object = None,
        organizations: object = None,
        personal: object = True,
        memberships: Collection[str] = (),
        actor: str | None = None,
    ) -> tuple[PatRecord, str]:
        """Create a PAT: its record goes to Vault, the token value only to the caller.

        ``organizations`` (None: every organization of the user) and ``personal`` restrict where
        it may act; each named organization must be one of ``memberships``.
        """
        check_account_id(user)
        now = now_utc()
        orgs, alone = check_restriction(organizations, personal, memberships)
        expiry = parse_expiry(
            expires_at, now, self.settings.pat_default_days, self.settings.pat_max_days
        )
        record = new_record(
            check_name(name), normalize_scopes(scopes), now, expiry, check_description(description)
        )
        record["organizations"], record["personal"] = orgs, alone
        token = self._sign(user, record)  # before anything is stored: no record without a token
        self._store(user, record)
        self.audit.record(
            "pat.create",
            actor=actor or user,
            target=record["id"],
            owner=user,
            name=record["name"],
            scopes=record["scopes"],
            expires_at=record["expires_at"],
            organizations=orgs,
            personal=alone,
        )
        self.notifier.announce(user, [event_of("created", record)])
        return record, token

    def rotate(
        self, user: str, token_id: str, grace_seconds: int = 0, actor: str | None = None
    ) -> tuple[PatRecord, str]:
        """Replace a token by a new one with the same name, scopes, restrictions and lifetime
        length; the old one stops working at the end of the grace period (0: now) on every
        replica."""
        check_account_id(user)
        check_token_id(token_id)
        if not isinstance(grace_seconds, int) or not 0 <= grace_seconds <= GRACE_MAX:
            raise BadRequest(f"grace_seconds must be 0-{GRACE_MAX}", code="invalid_grace_seconds")
        now = now_utc()
        old = self.index.find(user, token_id, now)
        stamp = iso(now) or ""
        state = None if old is None else state_of(old, stamp, self.denylist.is_revoked(token_id))
        if old is None or state == "revoked":
            raise NotFound("no such token", code="token_not_found")
        if state == "expired":
            raise Conflict(
                "an expired token cannot be rotated; create a new one", code="token_expired"
            )
        if old["rotated_to"]:
            raise Conflict(
                "this token was rotated already; rotate its successor", code="token_rotated"
            )
        lifetime = parse_iso(old["expires_at"]) - parse_iso(old["created_at"])
        expiry = min(now + lifetime, now + dt.timedelta(days=self.settings.pat_max_days))
        record = new_record(old["name"], old["scopes"], now, expiry, old["description"])
        record["organizations"], record["personal"] = old["organizations"], old["personal"]
        token = self._sign(user, record)
        self._store(user, record, replacing=token_id)
        ends = now + dt.timedelta(seconds=grace_seconds)
        self.revoker.revoke_rotated(
            user,
            token_id,
            int(parse_iso(old["expires_at"]).timestamp()),
            ends,
            actor or user,
            record["id"],
        )
        self.audit.record(
            "pat.rotate",
            actor=actor or user,
            target=token_id,
            owner=user,
            replaced_by=record["id"],
            grace_seconds=grace_seconds,
            expires_at=record["expires_at"],
        )
        self.notifier.announce(user, [event_of("created", record)])
        return record, token

    def _sign(self, user: str, record: PatRecord) -> str:
        """The token of a record: the prefix, then a JWS signed by Vault transit."""
        claims = PatClaims(
            issuer=self.settings.issuer,
            audience=self.settings.audience,
            user=user,
            token_id=record["id"],
            scopes=tuple(record["scopes"]),
            issued_at=int(parse_iso(record["created_at"]).timestamp()),
            expires_at=int(parse_iso(record["expires_at"]).timestamp()),
            organizations=(
                None if record["organizations"] is None else tuple(record["organizations"])
            ),
            personal=record["personal"],
        )
        return self.settings.pat_prefix + sign(self.keys, claims)

    def _store(self, user: str, record: PatRecord, replacing: str | None = None) -> None:
        """The per-token record, the token-id index, then the user's index, where the name is
        checked against the active tokens (atomically: check-and-set); a token being rotated
        (``replacing``) or already replaced does not count."""
        self.records.create(user, record)
        self.records.set_owner(record["id"], user)
        limit = self.settings.pat_max_per_user

        def add(table: Table) -> tuple[None, bool]:
            now = iso(now_utc()) or ""
            active = [
                other
                for other in table.values()
                if other["id"] not in (record["id"], replacing)
                and state_of(other, now, self.denylist.is_revoked(other["id"])) == "active"
            ]
            if any(
                other["name"] == record["name"] and not other["rotated_to"] for other in active
            ):  # a replaced token working through its grace period does not hold its name
                raise Conflict(
                    f"you already have an active token named {record['name']!r}",
                    code="name_taken",
                )
            if len(active) >= limit:
                raise Conflict(
                    f"you have {limit} active tokens, the most allowed; revoke some first",
                    code="too_many_tokens",
                )
            table[record["id"]] = record
            return None, True

        try:
            self.index.update(user, add)
        except Conflict:
            quietly(self.records.destroy, user, record["id"])
            quietly(self.records.drop_owner, record["id"])
            raise

    def list(self, user: str, state: Wanted = "active") -> Sequence[dict[str, Any]]:
        """A user's tokens in ``state`` (active, inactive: expired or revoked within the last
        30 days, or all), newest first, never with a value; last use includes local uses."""
        check_account_id(user)
        if state not in ("active", "inactive", "all"):
            raise BadRequest("state must be active, inactive or all", code="invalid_state")
        now = now_utc()
        stamp = iso(now) or ""
        answers = []
        for record in self.index.records(user, now):
            current = state_of(record, stamp, self.denylist.is_revoked(record["id"]))
            if state == "all" or (state == "active") == (current == "active"):
                answers.append(self.view(self.usage.overlay(record), current, stamp))
        return sorted(answers, key=lambda r: (r["created_at"], r["id"]), reverse=True)

    @staticmethod
    def view(record: PatRecord, state: State, now: str) -> dict[str, Any]:
        """A record as the API shows it: its state, when revoked and by whom, a rotation's end."""
        pending = record["revoked_at"] if state == "active" else None
        revoked = state == "revoked"
        return {
            "id": record["id"],
            "name": record["name"],
            "description": record["description"],
            "scopes": record["scopes"],
            "created_at": record["created_at"],
            "expires_at": record["expires_at"],
            "last_used_at": record["last_used_at"],
            "last_used_addresses": record["last_used_addresses"],
            "organizations": record["organizations"],
            "personal": record["personal"],
            "state": state,
            "revoked_at": record["revoked_at"] if revoked else None,
            "revoked_by": record["revoked_by"] if revoked else None,
            "rotated_to": record["rotated_to"],
            "grace_until": pending if pending and pending > now else None,
        }

    def notices(self, user: str) -> Sequence[dict[str, Any]]:
        """A user's recent security notices about their PATs, newest first."""
        return self.notifier.list(user)

    def _reported(self, user: str, tokens: Sequence[VerifiedToken]) -> None:
        """Tell a user that tokens of theirs were revoked after a public report."""
        records = {record["id"]: record for record in self.index.records(user, now_utc())}
        events = [
            event_of("reported", records[token.token_id])
            for token in tokens
            if token.token_id in records
        ]
        if events:
            self.notifier.deliver(user, events)

    def find_owner(self, token_id: str, users: Callable[[], Iterable[str]]) -> str | None:
        """The user a token id belongs to (operators), from the token-id index."""
        return self.index.owner(token_id, users)

    def forget_user(self, user: str) -> None:
        """Drop the token-id index entries of a user being deleted (their folder goes next)."""
        for record in self.index.records(user, now_utc()):
            quietly(self.records.drop_owner, record["id"])

    def _forget(self, token_ids: Collection[str]) -> None:
        self.verifier.forget(token_ids)


__all__ = ["PatRecord", "TokenService", "VerifiedToken"]
