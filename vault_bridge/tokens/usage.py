"""last_used_at without a Vault write per request: noted in memory, written coalesced."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

from vault_bridge.timeutil import iso
from vault_bridge.tokens.verify import CACHE_LIMIT, VerifiedToken
from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.records import PatRecord, PatRecords


def _iso(unix: float) -> str:
    return iso(dt.datetime.fromtimestamp(unix, dt.UTC)) or ""


class UsageTracker:
    """Uses of tokens on this replica, written to their records at most once per interval."""

    def __init__(self, records: PatRecords, interval: float) -> None:
        self.records = records
        self.interval = interval
        self._used: dict[str, tuple[str, float]] = {}  # token id -> (user, last use, unix time)
        self._flushed: dict[str, float] = {}  # token id -> when last_used_at was last written
        self._addresses: set[tuple[str, str]] = set()  # (token id, client address) seen

    def touch(
        self,
        token: VerifiedToken,
        address: str | None = None,
        on_first_use: Callable[[], object] | None = None,
    ) -> bool:
        """Note a use; True the first time this replica sees the token used from ``address``.
        Then ``on_first_use`` runs (the audit event) and only once it returned is the address
        remembered: when it raises, the next use is a first use again."""
        self._used[token.token_id] = (token.user, time.time())
        key = (token.token_id, address or "")
        if key in self._addresses:
            return False
        if on_first_use is not None:
            on_first_use()
        if len(self._addresses) >= CACHE_LIMIT:
            self._addresses.clear()
        self._addresses.add(key)
        return True

    def flush(self, force: bool = False) -> int:
        """Write last_used_at of tokens used since their last write; returns how many."""
        now = time.time()
        written = 0
        for token_id, (user, used_at) in list(self._used.items()):
            last = self._flushed.get(token_id, float("-inf"))
            if not force and now - last < self.interval:
                continue
            self._used.pop(token_id, None)
            self._flushed[token_id] = now
            try:
                self._write(user, token_id, used_at)
                written += 1
            except CasConflict:
                self._used.setdefault(token_id, (user, used_at))  # try again next round
        return written

    def _write(self, user: str, token_id: str, used_at: float) -> None:
        secret = self.records.read(user, token_id)
        if secret is None:
            return  # revoked meanwhile
        moment = _iso(used_at)
        stored = secret.data.get("last_used_at")
        if stored and stored >= moment:
            return
        self.records.update(user, token_id, {**secret.data, "last_used_at": moment}, secret.version)

    def overlay(self, record: PatRecord) -> PatRecord:
        """The record with this replica's unwritten last use, if newer."""
        local = self._used.get(record["id"])
        if local is None:
            return record
        moment = _iso(local[1])
        if record.get("last_used_at") and moment <= (record["last_used_at"] or ""):
            return record
        return {**record, "last_used_at": moment}

    def forget(self, token_id: str) -> None:
        """Drop what is noted about a revoked token."""
        self._used.pop(token_id, None)
        self._flushed.pop(token_id, None)
