"""Security notices about a user's PATs: a token was created, a token was revoked after it was
reported by value, a token expires in 7 days or in 1 day. Each is kept for the user to see
(``GET /api/v1/user/notices``) and, with SMTP configured, sent by e-mail exactly once across all
replicas: the event's marker in the user's notice document is claimed with check-and-set before
the message goes out. Never a token value: notices know ids, names and times only.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vault_bridge.ids import check_account_id
from vault_bridge.mail import Mailer
from vault_bridge.timeutil import iso, now_utc, parse_iso
from vault_bridge.tokens.index import TokenIndex, state_of
from vault_bridge.tokens.worker import Worker
from vault_bridge.vault.notices import Events, NoticeStore

log = logging.getLogger(__name__)

KEEP = dt.timedelta(days=40)  # longer than any reminder's window: a marker outlives its use
KEEP_MAX = 200  # events per user; the oldest go first
CLAIM_SECONDS = 60.0  # a replica sending a message holds the event this long
ATTEMPTS_MAX = 5  # sends of one message (reminders are retried by the next scans)
REMINDERS = (("expires-1d", dt.timedelta(days=1)), ("expires-7d", dt.timedelta(days=7)))
KINDS = ("created", "reported", "expires-7d", "expires-1d")

Address = Callable[[str], "tuple[str, str] | None"]  # user -> (display name, e-mail)


@dataclass(frozen=True)
class Event:
    """Something that happened to one token; ``id`` is the same on every replica."""

    kind: str
    token_id: str
    token_name: str
    expires_at: str

    @property
    def id(self) -> str:
        """The event's marker id: kind and token."""
        return f"{self.kind}:{self.token_id}"


def subject_and_body(event: Event, who: str, settings_url: str) -> tuple[str, str]:
    """The message of an event (names the token and what happened; never its value)."""
    name = event.token_name
    expiry = event.expires_at[:10]
    where = f"Manage your tokens at {settings_url}."
    if event.kind == "created":
        return (
            f'A personal access token "{name}" was created',
            f'Hello {who},\n\nA new personal access token named "{name}" (id {event.token_id}) '
            f"was created for your account. It expires on {expiry}.\n\nIf you did not create "
            f"it, revoke it now and change your password. {where}\n",
        )
    if event.kind == "reported":
        return (
            f'Your personal access token "{name}" was revoked: it was found exposed',
            f'Hello {who},\n\nYour personal access token "{name}" (id {event.token_id}) was '
            "reported by value through the public revocation API, which means someone found it "
            "where it should not be (a public repository, a log, a paste). It has been revoked "
            "and no longer works.\n\nCreate a new token, replace the old one wherever it was "
            f"used, and check where it leaked. {where}\n",
        )
    days = "1 day" if event.kind == "expires-1d" else "7 days"
    return (
        f'Your personal access token "{name}" expires in {days}',
        f'Hello {who},\n\nYour personal access token "{name}" (id {event.token_id}) expires on '
        f'{expiry}. To keep what uses it working, regenerate it ("rotate") before then, '
        f"optionally with a grace period for the old one. {where}\n",
    )


class Notices:
    """Records events, sends their e-mails once, and scans for expiry reminders."""

    def __init__(
        self,
        store: NoticeStore,
        index: TokenIndex,
        mailer: Mailer,
        address: Address,
        settings_url: str,
        is_revoked: Callable[[str], bool],
    ) -> None:
        self.store = store
        self.index = index
        self.mailer = mailer
        self.address = address
        self.settings_url = settings_url
        self.is_revoked = is_revoked
        self._worker: Worker[tuple[str, tuple[Event, ...]]] = Worker(
            "vault-bridge-notices", lambda job: self.deliver(*job), 1024
        )

    # -- events --------------------------------------------------------------------------------

    def announce(self, user: str, events: Iterable[Event]) -> None:
        """Record and send events in the background (the caller never waits for SMTP). A new
        token is announced only by e-mail: without SMTP its creator has just seen it, and
        creating a token costs no Vault write for it."""
        wanted = tuple(e for e in events if self.mailer.enabled or e.kind != "created")
        if wanted and not self._worker.put((user, wanted)):
            log.warning("notice queue full: a notice for %s was dropped", user)

    def deliver(self, user: str, events: Sequence[Event]) -> list[str]:
        """Record events, send the messages this replica claimed, note the outcome; returns
        the ids of the events this call sent."""
        now = time.time()
        claimed = self.store.update(
            user, lambda events_: self._claim(events_, events, now), self._shrink
        )
        if not claimed:
            return []
        outcomes = {event.id: self._send(user, event) for event in claimed}

        def settle(current: Events) -> tuple[bool, None]:
            for event_id, outcome in outcomes.items():
                entry = current.get(event_id)
                if entry is not None:
                    entry["mail"] = outcome
                    entry["attempts"] = int(entry.get("attempts", 0)) + 1
                    entry["claimed_until"] = 0.0
            return True, None

        self.store.update(user, settle, self._shrink)
        return [event_id for event_id, outcome in outcomes.items() if outcome == "sent"]

    def _claim(
        self, current: Events, events: Sequence[Event], now: float
    ) -> tuple[bool, list[Event]]:
        """Add new events; claim those whose message is due (new, failed before, or held by a
        replica that went away) for this replica."""
        claimed: list[Event] = []
        changed = False
        for event in events:
            entry = current.get(event.id)
            if entry is None:
                entry = {
                    "kind": event.kind,
                    "token_id": event.token_id,
                    "token_name": event.token_name,
                    "expires_at": event.expires_at,
                    "at": iso(now_utc()),
                    "mail": "off" if not self.mailer.enabled else "pending",
                    "attempts": 0,
                    "claimed_until": 0.0,
                }
                current[event.id] = entry
                changed = True
            due = entry["mail"] in ("pending", "failed") or (
                entry["mail"] == "sending" and float(entry.get("claimed_until", 0)) < now
            )
            if self.mailer.enabled and due and int(entry.get("attempts", 0)) < ATTEMPTS_MAX:
                entry["mail"] = "sending"
                entry["claimed_until"] = now + CLAIM_SECONDS
                claimed.append(event)
                changed = True
        if changed:
            kept = trim(current)
            for stale in set(current) - set(kept):
                del current[stale]
        return changed, claimed

    def _send(self, user: str, event: Event) -> str:
        """Send one message: ``sent``, ``failed`` (tried again later) or ``no_address``."""
        found = self.address(user)
        if found is None or not found[1]:
            return "no_address"
        who, email = found
        subject, body = subject_and_body(event, who or user, self.settings_url)
        try:
            self.mailer.send(email, subject, body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("e-mail %s to %s not sent: %s", event.kind, user, type(exc).__name__)
            return "failed"
        return "sent"

    @staticmethod
    def _shrink(events: Events) -> Events | None:
        """Drop the oldest half of a document too large to store."""
        if len(events) < 2:
            return None
        ordered = sorted(events.items(), key=lambda item: str(item[1].get("at")))
        return dict(ordered[len(ordered) // 2 :])

    # -- reminders -----------------------------------------------------------------------------

    def scan(self, interval: float) -> int:
        """Send the expiry reminders that are due, when this replica claims this interval's
        scan: one read per user (the PAT index), one more for users with a reminder due.
        Returns how many messages this call sent."""
        if not self.store.claim_scan(time.time(), interval):
            return 0
        sent = 0
        for user in self.store.users():
            due = self.due_reminders(user)
            if due:
                sent += len(self.deliver(user, due))
        return sent

    def due_reminders(self, user: str) -> list[Event]:
        """The reminders due for a user's active tokens (a token that did not exist at the 7-day
        mark gets only the 1-day one, and one that never lived a day, none)."""
        now = now_utc()
        stamp = iso(now) or ""
        due = []
        for record in self.index.records(user, now):
            if state_of(record, stamp, self.is_revoked(record["id"])) != "active":
                continue
            expires = parse_iso(record["expires_at"])
            created = parse_iso(record["created_at"])
            for kind, before in REMINDERS:
                if expires - before <= now and created < expires - before:
                    due.append(event_of(kind, record))
                    break
        return due

    # -- what the user sees --------------------------------------------------------------------

    def list(self, user: str) -> list[dict[str, Any]]:
        """A user's recent notices, newest first (kept 40 days, at most 200)."""
        check_account_id(user)
        events = self.store.read(user)
        notices = [
            {
                "id": event_id,
                "kind": entry.get("kind"),
                "token_id": entry.get("token_id"),
                "token_name": entry.get("token_name"),
                "expires_at": entry.get("expires_at"),
                "at": entry.get("at"),
                "mail": entry.get("mail"),
                "message": subject_and_body(
                    Event(
                        str(entry.get("kind")),
                        str(entry.get("token_id")),
                        str(entry.get("token_name")),
                        str(entry.get("expires_at") or ""),
                    ),
                    user,
                    self.settings_url,
                )[0],
            }
            for event_id, entry in events.items()
            if entry.get("kind") in KINDS
        ]
        return sorted(notices, key=lambda n: (str(n["at"]), n["id"]), reverse=True)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait for queued notices (tests, shutdown)."""
        return self._worker.drain(timeout)

    def close(self) -> None:
        """Finish queued notices, then stop."""
        self._worker.close()


def event_of(kind: str, record: Any) -> Event:
    """The event ``kind`` of a PAT record (or of anything with ``id``, ``name``, ``expires_at``)."""
    return Event(kind, record["id"], record["name"], record["expires_at"])


def trim(events: Events) -> Events:
    """Events younger than KEEP, at most KEEP_MAX, newest kept."""
    cutoff = iso(now_utc() - KEEP) or ""
    kept = sorted(
        ((k, v) for k, v in events.items() if str(v.get("at")) >= cutoff),
        key=lambda item: str(item[1].get("at")),
    )
    return dict(kept[-KEEP_MAX:])
