"""Browser sessions as server-side facts: one KV record per session, bound to the account's
identity entity.

The cookie names the user and the session id; the record (``users/<user>/sessions/<id>``) says
which entity signed in and until when. A session counts only while its record exists and names
the account's current entity, so logout, a password change, deleting the account (or deleting
and re-creating the name) and disabling the entity end it on every replica, within
``directory_cache_ttl``: the only cache is a short one of records seen. A session id starts with
its expiry (unix time), so expired records are pruned by name, without reading them.
"""

from __future__ import annotations

import re
import secrets
import threading
import time

from vault_bridge.errors import VaultBridgeError
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import session_folder, session_path

SESSION_ID = re.compile(r"(\d{10,12})-([0-9a-f]{32})")
CACHE_LIMIT = 100_000
YOUNG = 10.0  # seconds: a session this new may not be readable on every Vault node yet
RETRIES = 5
RETRY_PAUSE = 0.1


def is_session_id(value: object) -> bool:
    """True for ids this module makes: ``<expiry>-<32 hex digits>``."""
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None


class SessionStore:
    """Create, check and end sessions; what a check reads is cached at most ``cache_ttl``
    seconds."""

    def __init__(self, kv: KV, lifetime: float, cache_ttl: float) -> None:
        self.kv = kv
        self.lifetime = lifetime
        self.cache_ttl = cache_ttl
        self._seen: dict[tuple[str, str], tuple[float, str | None]] = {}  # -> (until, entity)
        self._lock = threading.Lock()

    def create(self, user: str, entity_id: str, address: str | None = None) -> str:
        """Record a new session for the account's entity; returns its id."""
        now = int(time.time())
        session_id = f"{now + int(self.lifetime)}-{secrets.token_hex(16)}"
        record = {"entity_id": entity_id, "created_at": now, "address": address or ""}
        self.kv.write(session_path(user, session_id), record, cas=0)
        self._remember((user, session_id), entity_id)  # read-your-writes on this replica
        self.prune(user)
        return session_id

    def owner(self, user: str, session_id: object) -> str | None:
        """The entity a live session belongs to; None when it ended, expired or never was."""
        match = SESSION_ID.fullmatch(session_id) if isinstance(session_id, str) else None
        if match is None or int(match.group(1)) <= time.time():
            return None
        assert isinstance(session_id, str)
        key = (user, session_id)
        cached = self._seen.get(key)
        if cached is None or time.monotonic() >= cached[0]:
            young = int(match.group(1)) - self.lifetime > time.time() - YOUNG
            owner = self._read_owner(user, session_id, retries=RETRIES if young else 0)
            cached = self._remember(key, owner)
        return cached[1]

    def _read_owner(self, user: str, session_id: str, retries: int) -> str | None:
        """The entity a session's record names; None when there is no record. A session made a
        moment ago on another replica may not have reached this Vault node yet (standbys serve
        reads): such a miss is read again a few times before it counts."""
        for attempt in range(retries + 1):
            secret = self.kv.read(session_path(user, session_id))
            if secret is not None:
                owner = secret.data.get("entity_id")
                return owner if isinstance(owner, str) else None
            if attempt < retries:
                time.sleep(RETRY_PAUSE)
        return None

    def _remember(self, key: tuple[str, str], owner: str | None) -> tuple[float, str | None]:
        entry = (time.monotonic() + self.cache_ttl, owner)
        with self._lock:
            if len(self._seen) >= CACHE_LIMIT:
                self._seen.clear()
            self._seen[key] = entry
        return entry

    def end(self, user: str, session_id: object) -> None:
        """End one session (its record goes before the answer)."""
        if is_session_id(session_id):
            assert isinstance(session_id, str)
            self.kv.destroy(session_path(user, session_id))
            self._seen.pop((user, session_id), None)

    def end_all(self, user: str, keep: str | None = None) -> int:
        """End every session of a user (but ``keep``); returns how many ended."""
        ended = 0
        for key in self.kv.list(session_folder(user)):
            if is_session_id(key) and key != keep:
                self.kv.destroy(session_path(user, key))
                ended += 1
        with self._lock:
            for cached in [k for k in self._seen if k[0] == user and k[1] != keep]:
                self._seen.pop(cached, None)
        return ended

    def prune(self, user: str) -> None:
        """Delete the records of a user's expired sessions (best effort)."""
        now = time.time()
        try:
            for key in self.kv.list(session_folder(user)):
                match = SESSION_ID.fullmatch(key)
                if match is not None and int(match.group(1)) <= now:
                    self.kv.destroy(session_path(user, key))
        except VaultBridgeError:
            pass  # the next sign-in tries again
