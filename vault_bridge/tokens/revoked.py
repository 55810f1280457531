"""The revoked token ids one replica holds in memory: compact, lock-free to read, pruned lazily.

Each id is kept as a 64-bit hash in an open-addressing table (two flat arrays): 12 bytes a slot,
24-48 bytes an id at the table's load of a quarter to a half, about 25 MB for a million ids,
where a dict of strings needs about 200 MB. A lookup is one hash (cached on the token id string)
and one or two array reads, and takes no lock.

Two different ids share a hash with probability 2**-64 per pair: with a million revoked ids a
valid token is refused by mistake with probability about 5e-14, and only on one replica until it
restarts (the hash is keyed per process). It never makes a revoked token valid.

Growing the table and dropping expired ids copy it; ``maintain`` does that copy without holding
the writers' lock (additions made meanwhile are replayed onto the copy), so the thread that
follows the revocation log is never held up by it.
"""

from __future__ import annotations

import array
import threading
import time
from collections.abc import Iterable

MIN_SLOTS = 1024
KEEP_MAX = 2**32 - 1  # kept-until times are unsigned 32-bit unix times (until 2106)
HOUR = 3600

Table = tuple["array.array[int]", "array.array[int]", int]  # hashes, kept-until, mask


def _slots_for(count: int) -> int:
    size = MIN_SLOTS
    while size < 2 * count:
        size *= 2
    return size


class RevokedIds:
    """A set of revoked token ids, each kept until its expiry plus ``grace`` seconds."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._table: Table = _empty(MIN_SLOTS)  # replaced whole, never resized in place
        self._count = 0
        self._hours: dict[int, int] = {}  # hour of kept-until -> how many entries
        self._journal: list[tuple[int, int]] | None = None  # additions during a copy
        self._lock = threading.Lock()  # writers only
        self._maintaining = threading.Lock()  # one copy at a time
        self._pruned_at = time.time()

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"RevokedIds(count={self._count})"

    def __contains__(self, token_id: object) -> bool:
        if not isinstance(token_id, str):
            return False
        key = hash(token_id) or 1
        hashes, _, mask = self._table
        slot = key & mask
        while True:
            found = hashes[slot]
            if found == key:
                return True
            if not found:
                return False
            slot = (slot + 1) & mask

    @property
    def slots(self) -> int:
        """Size of the table (for the memory bound)."""
        return len(self._table[0])

    def nbytes(self) -> int:
        """Bytes held by the table and the expiry histogram (an estimate of the latter)."""
        hashes, kept, _ = self._table
        return hashes.itemsize * len(hashes) + kept.itemsize * len(kept) + 100 * len(self._hours)

    def reserve(self, count: int) -> None:
        """Size the table for ``count`` ids at once (a cold start knows how many will come)."""
        with self._lock:
            if 2 * count > len(self._table[0]):
                self._table, self._count, _ = _copy(self._table, _slots_for(count), cutoff=0)

    def add(self, entries: Iterable[tuple[str, int]]) -> int:
        """Add ``(token id, expiry)`` pairs; an id already held keeps the later expiry.

        Returns how many ids were new. The table grows here only when it is three quarters
        full (``maintain`` normally grows it first, off this path). The loop is written out
        (no call per id): a cold start adds a million ids.
        """
        added = 0
        grace = self.grace
        hours = self._hours
        with self._lock:
            journal = self._journal
            hashes, kept_until, mask = self._table
            limit = 3 * (mask + 1) // 4
            for token_id, exp in entries:
                if self._count >= limit:
                    self._table, self._count, _ = _copy(
                        self._table, _slots_for(self._count + 1), cutoff=0
                    )
                    hashes, kept_until, mask = self._table
                    limit = 3 * (mask + 1) // 4
                key = hash(token_id) or 1  # 0 marks a free slot
                kept = min(KEEP_MAX, max(0, int(exp + grace)))
                if journal is not None:
                    journal.append((key, kept))
                slot = key & mask
                while True:
                    found = hashes[slot]
                    if not found:
                        kept_until[slot] = kept
                        hashes[slot] = key  # readers see the id only once it is complete
                        self._count += 1
                        added += 1
                        hours[kept // HOUR] = hours.get(kept // HOUR, 0) + 1
                        break
                    if found == key:
                        old = kept_until[slot]
                        if kept > old:
                            kept_until[slot] = kept
                            self._count_hour(old, -1)
                            self._count_hour(kept, 1)
                        break
                    slot = (slot + 1) & mask
        return added

    def _count_hour(self, kept: int, delta: int) -> None:
        hour = kept // HOUR
        left = self._hours.get(hour, 0) + delta
        if left:
            self._hours[hour] = left
        else:
            self._hours.pop(hour, None)

    def maintain(self, now: float | None = None) -> int:
        """Grow a table more than half full; drop ids kept until a past hour when enough have
        piled up. Returns how many ids were dropped.

        Deciding costs one pass over the hour histogram (a few thousand entries at most), not
        over the ids. Expired ids are dropped only when an eighth of the table is due, or an
        hour after the last time, so the cost of a copy is spread over at least that many
        expiries. Readers and writers go on meanwhile.
        """
        now = time.time() if now is None else now
        current = int(now) // HOUR
        with self._maintaining:
            with self._lock:
                due = sum(count for hour, count in self._hours.items() if hour < current)
                prune = bool(due) and (8 * due >= self._count or now - self._pruned_at >= HOUR)
                grow = 2 * self._count > len(self._table[0])
                if not (prune or grow):
                    return 0
                cutoff = current * HOUR if prune else 0
                size = _slots_for(self._count - (due if prune else 0))
                snapshot, self._journal = self._table, []
            table, count, dropped = _copy(snapshot, size, cutoff)  # without the lock: long
            with self._lock:
                for key, kept in self._journal or ():
                    if 4 * (count + 1) > 3 * len(table[0]):
                        table, count, _ = _copy(table, _slots_for(count + 1), cutoff=0)
                    if kept >= cutoff and _insert(table, key, kept) is None:
                        count += 1
                self._journal = None
                self._table, self._count = table, count
                if prune:
                    for hour in [hour for hour in self._hours if hour < current]:
                        del self._hours[hour]
                    self._pruned_at = now
            return dropped if prune else 0


def _empty(size: int) -> Table:
    return array.array("q", bytes(8 * size)), array.array("I", bytes(4 * size)), size - 1


def _insert(table: Table, key: int, kept: int) -> int | None:
    """Put ``key`` in ``table``: None when it is new, else its earlier kept-until (raised to
    ``kept`` if that is later). The id becomes visible to readers only once it is complete."""
    hashes, kept_until, mask = table
    slot = key & mask
    while True:
        found = hashes[slot]
        if found == key:
            old = kept_until[slot]
            if kept > old:
                kept_until[slot] = kept
            return old
        if not found:
            kept_until[slot] = kept
            hashes[slot] = key
            return None
        slot = (slot + 1) & mask


def _copy(table: Table, size: int, cutoff: int) -> tuple[Table, int, int]:
    """A table of ``size`` slots with every id of ``table`` kept until ``cutoff`` or later;
    with how many ids it holds and how many it left out."""
    copy = _empty(max(size, MIN_SLOTS))
    hashes, kept_until, mask = copy
    count = dropped = 0
    for key, kept in zip(table[0], table[1], strict=True):
        if not key:
            continue
        if kept < cutoff:
            dropped += 1
            continue
        slot = key & mask
        while hashes[slot]:
            slot = (slot + 1) & mask
        kept_until[slot] = kept
        hashes[slot] = key
        count += 1
    return copy, count, dropped
