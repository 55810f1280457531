"""Last use of PATs without a Vault write per request: noted in memory, written in batches.

Each request notes its token's use (time, client address, organization context) in memory.
A flush, in a thread of its own every ``VAULT_BRIDGE_LAST_USED_INTERVAL``, writes all uses of
one user with one check-and-set update of that user's index, and the uses in an organization's
context with one update per organization: a bounded number of Vault calls per interval, however
many tokens were used. Every map here has a bound.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vault_bridge.errors import VaultBridgeError
from vault_bridge.timeutil import iso
from vault_bridge.tokens.index import Table, TokenIndex
from vault_bridge.tokens.verify import VerifiedToken
from vault_bridge.vault.records import PatRecord

log = logging.getLogger(__name__)

ADDRESSES = 3  # last client addresses kept per token
ORGS_PER_TOKEN = 16  # organization contexts noted per token between two flushes
MAX_PENDING = 100_000  # tokens with unwritten uses
MAX_SEEN = 100_000  # (token, address) pairs remembered for the "first use from" audit event
USERS_PER_FLUSH = 5_000  # users written in one round; the rest wait for the next


def _iso(unix: float) -> str:
    return iso(dt.datetime.fromtimestamp(unix, dt.UTC)) or ""


def merge_addresses(newer: list[str], older: list[str]) -> list[str]:
    """The most recent distinct addresses first, at most ``ADDRESSES``."""
    merged: list[str] = []
    for address in [*newer, *older]:
        if address and address not in merged:
            merged.append(address)
    return merged[:ADDRESSES]


@dataclass(slots=True)
class Use:
    """Unwritten uses of one token on this replica."""

    user: str
    at: float
    scopes: frozenset[str]
    expires_at: int
    addresses: tuple[str, ...] = ()
    orgs: dict[str, float] | None = None  # organization -> last use there

    def merge(self, other: Use) -> None:
        """Fold in uses noted later (or earlier: the latest time wins)."""
        newer, older = (other, self) if other.at >= self.at else (self, other)
        self.addresses = tuple(merge_addresses(list(newer.addresses), list(older.addresses)))
        self.at = newer.at
        for org, at in (other.orgs or {}).items():
            self.note_org(org, at)

    def note_org(self, org: str, at: float) -> None:
        """Note a use in an organization's context (at most ``ORGS_PER_TOKEN`` of them)."""
        if self.orgs is None:
            self.orgs = {}
        if org in self.orgs or len(self.orgs) < ORGS_PER_TOKEN:
            self.orgs[org] = max(at, self.orgs.get(org, 0.0))


@dataclass(frozen=True)
class OrgUse:
    """A token's last use in one organization's context, with what the owners may see."""

    token_id: str
    user: str
    name: str
    scopes: tuple[str, ...]
    expires_at: int
    at: float


OrgSink = Callable[[str, list[OrgUse]], None]


class UsageTracker:
    """Uses of tokens on this replica, written to the users' indexes in batches."""

    def __init__(
        self,
        index: TokenIndex,
        *,
        org_sink: OrgSink | None = None,
        max_pending: int = MAX_PENDING,
        max_seen: int = MAX_SEEN,
        users_per_flush: int = USERS_PER_FLUSH,
    ) -> None:
        self.index = index
        self.org_sink = org_sink
        self.max_pending = max_pending
        self.max_seen = max_seen
        self.users_per_flush = users_per_flush
        self._pending: dict[str, Use] = {}  # token id -> unwritten uses
        self._in_flight: dict[str, Use] = {}  # the uses a flush is writing now
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.dropped = 0  # uses not noted because the pending map was full (until a flush)
        self.flushing = False  # a flush is writing (tests and benchmarks)

    def __len__(self) -> int:
        return len(self._pending)

    def touch(
        self,
        token: VerifiedToken,
        address: str | None = None,
        orgs: Sequence[str] = (),
        on_first_use: Callable[[], object] | None = None,
    ) -> bool:
        """Note a use; True the first time this replica sees the token used from ``address``.
        Then ``on_first_use`` runs (the audit event) and only once it returned is the address
        remembered: when it raises, the next use is a first use again."""
        now = time.time()
        address = address or ""
        key = (token.token_id, address)
        with self._lock:
            use = self._pending.get(token.token_id)
            if use is None:
                if len(self._pending) < self.max_pending:
                    use = Use(token.user, now, token.scopes, token.expires_at)
                    self._pending[token.token_id] = use
                else:
                    self.dropped += 1
            if use is not None:
                use.at = now
                if address and (not use.addresses or use.addresses[0] != address):
                    use.addresses = tuple(merge_addresses([address], list(use.addresses)))
                for org in orgs:
                    use.note_org(org, now)
            if key in self._seen:
                return False
        if on_first_use is not None:
            on_first_use()  # outside the lock: it writes the audit log
        with self._lock:
            if len(self._seen) >= self.max_seen:
                self._seen.popitem(last=False)
            self._seen[key] = None
        return True

    def flush(self, force: bool = False) -> int:
        """Write the uses noted since the last flush: one index update per user (at most
        ``users_per_flush`` users a round unless ``force``); returns how many users."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
                self._in_flight = pending  # still shown by overlay until written
            if not pending:
                return 0
            by_user: dict[str, dict[str, Use]] = {}
            for token_id, use in pending.items():
                by_user.setdefault(use.user, {})[token_id] = use
            users = list(by_user)
            now_round = users if force else users[: self.users_per_flush]
            self._put_back(
                {tid: u for user in users[len(now_round) :] for tid, u in by_user[user].items()}
            )
            org_uses: dict[str, list[OrgUse]] = {}
            written = 0
            self.flushing = True
            try:
                for user in now_round:
                    uses = by_user[user]
                    try:
                        names = self.index.update(user, functools.partial(_apply, uses=uses))
                    except VaultBridgeError as exc:
                        log.warning("could not record last use for %s: %s", user, exc.message)
                        self._put_back(uses)
                        continue
                    written += 1
                    for token_id, use in uses.items():
                        if token_id not in names:
                            continue
                        for org, at in (use.orgs or {}).items():
                            org_uses.setdefault(org, []).append(
                                OrgUse(
                                    token_id,
                                    user,
                                    names[token_id],
                                    tuple(sorted(use.scopes)),
                                    use.expires_at,
                                    at,
                                )
                            )
                if self.org_sink is not None:
                    for org, entries in org_uses.items():
                        try:
                            self.org_sink(org, entries)
                        except VaultBridgeError as exc:
                            log.warning("could not record use in %s: %s", org, exc.message)
            finally:
                with self._lock:
                    self._in_flight = {}
                self.flushing = False
            return written

    def _put_back(self, uses: dict[str, Use]) -> None:
        """Keep uses that could not be written for the next round (within the bound)."""
        with self._lock:
            for token_id, use in uses.items():
                current = self._pending.get(token_id)
                if current is not None:
                    current.merge(use)
                elif len(self._pending) < self.max_pending:
                    self._pending[token_id] = use
                else:
                    self.dropped += 1

    def overlay(self, record: PatRecord) -> PatRecord:
        """The record with this replica's unwritten last use, if newer: the uses a flush is
        writing at this moment count as unwritten until it is done."""
        with self._lock:
            uses = [self._in_flight.get(record["id"]), self._pending.get(record["id"])]
        for use in uses:
            if use is not None:
                record = _with_use(record, use)
        return record


def _with_use(record: PatRecord, use: Use) -> PatRecord:
    """The record with a use, when the use is newer than its last one."""
    moment = _iso(use.at)
    if record["last_used_at"] and moment <= record["last_used_at"]:
        return record
    return {
        **record,
        "last_used_at": moment,
        "last_used_addresses": merge_addresses(list(use.addresses), record["last_used_addresses"]),
    }


def _apply(table: Table, uses: dict[str, Use]) -> tuple[dict[str, str], bool]:
    """Write uses into a user's records; the names of the tokens found."""
    names: dict[str, str] = {}
    changed = False
    for token_id, use in uses.items():
        record = table.get(token_id)
        if record is None:
            continue  # not indexed (pruned, or a token of a deleted user)
        names[token_id] = record["name"]
        moment = _iso(use.at)
        if record["last_used_at"] and moment <= record["last_used_at"]:
            continue
        record["last_used_at"] = moment
        record["last_used_addresses"] = merge_addresses(
            list(use.addresses), record["last_used_addresses"]
        )
        changed = True
    return names, changed
