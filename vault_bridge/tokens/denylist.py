"""The revocation denylist: written to Vault before a revocation is acknowledged, mirrored locally.

A revocation appends one slot to a log in KV (check-and-set 0, so concurrent revokers on any
number of replicas never lose one another and leave no gaps). Each replica holds every revoked,
unexpired id in memory (``RevokedIds``) and follows the log from its last position in a thread of
its own: it asks ``sys/leader`` (not audited) for raft's applied index and reads the log only
when the index moved, with a plain read at least every ``full_poll_interval`` as a safety net,
and on every tick for storage without raft. Compacted entries live in a chunked checkpoint, so a
new replica starts from a bounded number of reads. docs/vault-layout.md has the whole design.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from vault_bridge.config import Settings
from vault_bridge.errors import ServiceUnavailable, VaultBridgeError
from vault_bridge.tokens.checkpoint import Checkpoint, Entries, decode_chunk, parse_slot
from vault_bridge.tokens.compaction import CompactionPolicy, Compactor
from vault_bridge.tokens.revoked import RevokedIds
from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.revocations import RevocationStore

log = logging.getLogger(__name__)

SLOT_MAX = 400  # ids per log slot: OpenBao refuses requests with more than 1,000 JSON strings
CLAIM_ATTEMPTS = 50
BUSY_TICKS = 7  # after the index moved, read without asking sys/leader for this many ticks
OWN_SLOTS_MAX = 10_000
CLOCK_MARGIN = 60.0  # seconds of clock skew between replicas that retention tolerates
LOAD_ATTEMPTS = 3
PREFETCH = 4  # checkpoint chunks read ahead during a load
MAX_SCHEDULED = 100_000  # revocations waiting for their time (beyond: revoked at once)

Listener = Callable[[str | None], None]  # a notice from the log; None: reload everything


class Denylist:
    """Local mirror of the revoked token ids, with a staleness bound (fail closed)."""

    def __init__(
        self,
        store: RevocationStore,
        max_staleness: float,
        *,
        poll_interval: float = 0.5,
        full_poll_interval: float = 30.0,
        leeway: float = 5.0,
        policy: CompactionPolicy | None = None,
    ) -> None:
        self.store = store
        self.max_staleness = max_staleness
        self.poll_interval = poll_interval
        self.full_poll_interval = full_poll_interval
        # an entry must outlive every verification that could still accept its token
        self.grace = leeway + max_staleness
        self.policy = policy or CompactionPolicy()
        self.compactor = Compactor(store, self.policy, retain=self.grace + CLOCK_MARGIN)
        self._ids = RevokedIds(self.grace)
        self._scheduled: dict[str, tuple[int, int]] = {}  # id -> (expiry, effective)
        self._loading: RevokedIds | None = None  # a reload in progress also gets new entries
        self._loading_scheduled: dict[str, tuple[int, int]] | None = None
        self.listener: Listener | None = None  # told of notices in the log (in this thread)
        self._position: int | None = None  # every log slot <= position is applied (None: not yet)
        self._cursor = 0  # the highest log slot known to exist
        self._own: set[int] = set()  # slots above the position this replica wrote and applied
        self._known_through = 0  # the checkpoint's ``through`` when this replica last looked
        self._index: int | None = None  # raft's applied index at the last read of the log
        self._raft: bool | None = None  # does sys/leader report a raft index (None: not asked)
        self._busy = 0
        self._read_at = float("-inf")  # monotonic time of the last read of the log
        self._synced_at = float("-inf")  # monotonic time up to which the mirror is confirmed
        self._failing = False
        self._state = threading.Lock()  # position, cursor, own slots, the loading set
        self._sync_lock = threading.Lock()  # one reader of the log at a time
        self._claim_lock = threading.Lock()  # one claim at a time per replica
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self.quiet_ticks = 0  # ticks answered by an unchanged raft index alone (tests, benchmarks)

    @classmethod
    def from_settings(cls, store: RevocationStore, settings: Settings, leeway: float) -> Denylist:
        """A denylist with the configured staleness bound and poll intervals."""
        return cls(
            store,
            settings.denylist_max_staleness,
            poll_interval=settings.denylist_poll_interval,
            full_poll_interval=settings.denylist_full_poll_interval,
            leeway=leeway,
        )

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"Denylist(entries={len(self._ids)}, position={self._position})"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Load the denylist now, then follow the log in a thread of its own (idempotent).

        When Vault cannot be reached yet the follower keeps trying to load it; until then
        ``check_fresh`` fails closed.
        """
        with self._start_lock:
            if self._threads:
                return
            try:
                self.sync()
            except VaultBridgeError as exc:
                self._report(exc.message)
            self._stop.clear()
            self._threads = [
                threading.Thread(target=self._follow, name="vault-bridge-revocations", daemon=True),
                threading.Thread(
                    target=self._compact, name="vault-bridge-revocations-compaction", daemon=True
                ),
            ]
            for thread in self._threads:
                thread.start()

    def close(self) -> None:
        """Stop the threads (the mirror keeps answering, and goes stale)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    # -- answers -------------------------------------------------------------------------------

    @property
    def age(self) -> float:
        """Seconds since the mirror was last confirmed up to date."""
        return time.monotonic() - self._synced_at

    def check_fresh(self) -> None:
        """Refuse to answer on a denylist older than the bound (fail closed)."""
        if time.monotonic() - self._synced_at > self.max_staleness:
            raise ServiceUnavailable(
                "token revocations cannot be confirmed right now (Vault unreachable); try again",
                code="denylist_stale",
            )

    def is_revoked(self, token_id: str) -> bool:
        """True when the id is on the denylist, or its later revocation is due (no Vault call,
        no lock)."""
        if token_id in self._ids:
            return True
        later = self._scheduled.get(token_id)
        return later is not None and later[1] <= time.time()

    def revokes_at(self, token_id: str) -> int | None:
        """When a later revocation of the id takes effect (unix time); None without one."""
        later = self._scheduled.get(token_id)
        return None if later is None else later[1]

    # -- revoke --------------------------------------------------------------------------------

    def add(self, entries: dict[str, int], effective: int | None = None) -> None:
        """Revoke token ids (id -> expiry, unix time), from ``effective`` on (unix time) if
        given, else now: appended to the log in Vault, then held locally. Batches of more than
        ``SLOT_MAX`` ids take several slots."""
        items = [(str(token_id), int(exp)) for token_id, exp in entries.items()]
        for start in range(0, len(items), SLOT_MAX):
            batch = dict(items[start : start + SLOT_MAX])
            data: dict[str, Any] = (
                dict(batch)
                if effective is None
                else {tid: [exp, int(effective)] for tid, exp in batch.items()}
            )
            with self._claim_lock:
                number = self._append(data)
            self._applied(number, parse_slot(data))

    def notify(self, notice: str) -> None:
        """Append a notice (``<kind>:<name>``) for every replica's listener; this replica's
        own listener is not called (the writer has applied the change itself)."""
        with self._claim_lock:
            number = self._append({notice: int(time.time())})
        self._applied(number, Entries())

    def _applied(self, number: int, entries: Entries) -> None:
        """Hold what this replica wrote to slot ``number``, so the follower need not read it."""
        with self._state:
            self._hold(self._ids, self._scheduled, entries)
            if self._loading is not None and self._loading_scheduled is not None:
                self._hold(self._loading, self._loading_scheduled, entries)
            if self._position is not None and number > self._position:
                if len(self._own) >= OWN_SLOTS_MAX:
                    self._own.clear()  # the follower reads them again instead
                self._own.add(number)
            self._cursor = max(self._cursor, number)

    @staticmethod
    def _hold(ids: RevokedIds, scheduled: dict[str, tuple[int, int]], entries: Entries) -> None:
        """Add entries to an in-memory set: later revocations wait in ``scheduled`` (bounded:
        beyond ``MAX_SCHEDULED`` they take effect at once, failing closed)."""
        ids.add(entries.revoked.items())
        if scheduled:
            for token_id in entries.revoked:
                scheduled.pop(token_id, None)
        for token_id, (exp, effective) in entries.scheduled.items():
            if token_id in ids:
                continue
            known = scheduled.get(token_id)
            if known is not None:
                exp, effective = max(exp, known[0]), min(effective, known[1])
            if known is None and len(scheduled) >= MAX_SCHEDULED:
                ids.add([(token_id, exp)])
            else:
                scheduled[token_id] = (exp, effective)

    def _append(self, batch: dict[str, Any]) -> int:
        number = self._next_slot()
        for _ in range(CLAIM_ATTEMPTS):
            try:
                self.store.claim_slot(number, batch)
                return number
            except CasConflict:
                number = self._first_free(number)
        raise ServiceUnavailable("could not record the revocation (too much contention); try again")

    def _next_slot(self) -> int:
        with self._state:
            if self._position is not None and self.age < self.policy.resync_after:
                return max(self._position, self._cursor) + 1
        # not following the log (the CLI), or not for long: start from the checkpoint
        checkpoint = Checkpoint.from_secret(self.store.read_manifest())
        return self._first_free(checkpoint.through)

    def _first_free(self, known: int) -> int:
        """The first free slot above ``known`` (a slot that exists or is compacted).

        Slots above the checkpoint exist without gaps, so existence is monotonic: gallop, then
        bisect.
        """
        low, step = known, 1
        while self.store.read_slot(low + step) is not None:
            low += step
            step *= 2
        high = low + step
        while high - low > 1:
            middle = (low + high) // 2
            if self.store.read_slot(middle) is None:
                high = middle
            else:
                low = middle
        return high

    # -- follow the log ------------------------------------------------------------------------

    def sync(self) -> None:
        """Bring the mirror up to date now: the first call loads everything, later calls read
        the log slots written since."""
        with self._sync_lock:
            started = time.monotonic()
            if self._needs_load(started):
                self._load(started)
                return
            self._read_tail()
            self._read_at = started
            self._confirm(started)

    def _needs_load(self, started: float) -> bool:
        if self._position is None:
            return True
        if started - self._synced_at <= self.policy.resync_after:
            return False
        # out of touch for a while: folded slots above our position may be gone by now
        checkpoint = Checkpoint.from_secret(self.store.read_manifest())
        self._known_through = checkpoint.through
        return checkpoint.through > self._position

    def tick(self) -> None:
        """One round of the follower: ask the raft index, read the log if it moved."""
        with self._sync_lock:
            started = time.monotonic()
            if self._needs_load(started):
                self._load(started)
                return
            index = None
            read = True
            if self._raft is not False:
                if self._busy:
                    self._busy -= 1  # Vault is busy: the read alone is cheaper
                else:
                    index = self.store.applied_index()
                    self._raft = index is not None
                    if index is not None:
                        moved = index != self._index
                        if moved and self._index is not None:
                            self._busy = BUSY_TICKS
                        read = moved or started - self._read_at >= self.full_poll_interval
            if read:
                self._read_tail()
                self._read_at = started
                if index is not None:
                    self._index = index
            else:
                self.quiet_ticks += 1
            self._confirm(started)

    def _confirm(self, started: float) -> None:
        self._synced_at = max(self._synced_at, started)
        if self._failing:
            log.info("revocations are up to date again")
            self._failing = False

    def _read_tail(self) -> None:
        """Apply every log slot past the position, up to the first that does not exist."""
        while True:
            with self._state:
                assert self._position is not None
                number = self._position + 1
                if number in self._own:
                    self._own.discard(number)
                    self._position = number
                    continue
            data = self.store.read_slot(number)
            if data is None:
                with self._state:
                    self._own = {n for n in self._own if n > number}
                return
            entries = parse_slot(data)
            for notice in entries.notices:
                self._tell(notice)  # before the position moves: a failure reads it again
            with self._state:
                self._hold(self._ids, self._scheduled, entries)
                self._position = number
                self._cursor = max(self._cursor, number)

    def _load(self, started: float) -> None:
        """Cold start (or a reload after a long outage): the checkpoint's chunks, then the log."""
        index = self.store.applied_index() if self._raft is not False else None
        self._raft = index is not None
        for _ in range(LOAD_ATTEMPTS):
            secret = self.store.read_manifest()
            if secret is None:
                secret = self._initialize()
            checkpoint = Checkpoint.from_secret(secret)
            ids = RevokedIds(self.grace)
            ids.reserve(checkpoint.stored)
            scheduled: dict[str, tuple[int, int]] = {}
            with self._state:
                self._loading, self._loading_scheduled = ids, scheduled
            try:
                if not self._load_chunks(ids, scheduled, checkpoint):
                    continue  # a compaction replaced a chunk meanwhile: start over
                self._tell(None)  # what notices announce is read whole on a load
                position = checkpoint.through
                while (data := self.store.read_slot(position + 1)) is not None:
                    entries = parse_slot(data)
                    with self._state:
                        self._hold(ids, scheduled, entries)
                    position += 1
                with self._state:
                    self._ids, self._scheduled = ids, scheduled
                    self._position = position
                    self._cursor = max(self._cursor, position)
                    self._own.clear()
            finally:
                with self._state:
                    self._loading = self._loading_scheduled = None
            self._known_through = checkpoint.through
            self._index = index
            self._read_at = started
            self._confirm(started)
            return
        raise ServiceUnavailable("the revocation checkpoint kept changing while loading it")

    def _load_chunks(
        self, ids: RevokedIds, scheduled: dict[str, tuple[int, int]], checkpoint: Checkpoint
    ) -> bool:
        """Read the chunks, a few ahead of the one being added (Vault's time and ours overlap,
        and at most ``PREFETCH`` chunks wait in memory)."""
        keys = iter([chunk.key for chunk in checkpoint.chunks])
        with ThreadPoolExecutor(PREFETCH, thread_name_prefix="revocations-load") as pool:
            pending = deque(
                pool.submit(self.store.read_chunk, key) for key in islice(keys, PREFETCH)
            )
            while pending:
                data = pending.popleft().result()
                following = next(keys, None)
                if following is not None:
                    pending.append(pool.submit(self.store.read_chunk, following))
                if data is None:  # replaced by a compaction meanwhile
                    for future in pending:
                        future.cancel()
                    return False
                entries = decode_chunk(data)
                with self._state:
                    self._hold(ids, scheduled, entries)
        return True

    def _initialize(self) -> Any:
        """First start on this store: take over the earlier shard layout, create the manifest."""
        legacy = self.store.read_legacy()
        if legacy:
            log.info("taking over %d revocations from the earlier denylist layout", len(legacy))
            items = list(parse_slot(legacy).revoked.items())
            for start in range(0, len(items), SLOT_MAX):
                with self._claim_lock:
                    self._append(dict(items[start : start + SLOT_MAX]))
        with contextlib.suppress(CasConflict):  # another replica created it first
            self.store.write_manifest(Checkpoint(legacy=len(legacy or {})).to_data(), cas=0)
        if legacy is not None:
            self.store.delete_legacy()
        return self.store.read_manifest()

    def _follow(self) -> None:
        """The follower thread: a tick every ``poll_interval``, nothing else."""
        deadline = time.monotonic()
        while True:
            deadline += self.poll_interval
            wait = deadline - time.monotonic()
            if wait < 0:  # a tick overran (slow Vault): start the next one now, do not pile up
                deadline, wait = time.monotonic(), 0.0
            if self._stop.wait(wait):
                return
            try:
                self.tick()
            except VaultBridgeError as exc:
                self._report(exc.message)
            except Exception:  # keep following; the staleness bound fails requests closed
                log.exception("revocation follower failed")

    def _tell(self, notice: str | None) -> None:
        if self.listener is not None:
            self.listener(notice)

    def _settle(self, now: float | None = None) -> None:
        """Move later revocations whose time has come into the set of revoked ids."""
        now = time.time() if now is None else now
        due = [(tid, exp) for tid, (exp, at) in list(self._scheduled.items()) if at <= now]
        if not due:
            return
        with self._state:
            self._ids.add(due)
            for token_id, _ in due:
                self._scheduled.pop(token_id, None)

    def _report(self, message: str) -> None:
        if not self._failing:
            log.warning("cannot refresh revocations: %s", message)
            self._failing = True

    # -- compaction ----------------------------------------------------------------------------

    def _compact(self) -> None:
        """The housekeeping thread: the in-memory table's upkeep, and compaction (cheap local
        checks; a manifest read only when there is work)."""
        policy = self.policy
        jitter = random.Random()  # noqa: S311 - spreading replicas out; not the shared generator
        maintain_at = time.monotonic() + jitter.uniform(0.1, 1.0) * policy.maintain_every
        while not self._stop.wait(policy.check_every * jitter.uniform(0.5, 1.5)):
            self._ids.maintain()  # grow the table or drop expired ids, off the follower's path
            self._settle()
            position = self._position
            if position is None:
                continue
            now = time.monotonic()
            if position - self._known_through < policy.fold_after and now < maintain_at:
                continue
            try:
                checkpoint = self.compactor.run(position, len(self._ids))
            except VaultBridgeError as exc:
                log.warning("revocation compaction: %s", exc.message)
                continue
            except Exception:
                log.exception("revocation compaction failed")
                continue
            self._known_through = checkpoint.through
            pending = checkpoint.folded or checkpoint.retired
            wait = policy.delete_after + policy.check_every if pending else policy.maintain_every
            maintain_at = now + min(wait, policy.maintain_every) * jitter.uniform(0.9, 1.1)
