"""The revoked token ids one replica holds in memory: compact, lock-free to read, pruned lazily.

Each id is kept as a 64-bit hash in an open-addressing table (two flat arrays, at most half full):
12 bytes a slot, 24-48 bytes an id, about 25 MB for a million ids, where a dict of strings needs
about 200 MB. A lookup is one hash (cached on the token id string) and one or two array reads.

Two different ids share a hash with probability 2**-64 per pair: with a million revoked ids a
valid token is refused by mistake with probability about 5e-14, and only on one replica until it
restarts (the hash is keyed per process). It never makes a revoked token valid.
"""

from __future__ import annotations

import array
import threading
import time
from collections.abc import Iterable

MIN_SLOTS = 1024
KEEP_MAX = 2**32 - 1  # kept-until times are unsigned 32-bit unix times (until 2106)
HOUR = 3600


def _key(token_id: str) -> int:
    return hash(token_id) or 1  # 0 marks a free slot


def _slots_for(count: int) -> int:
    size = MIN_SLOTS
    while size < 2 * count:
        size *= 2
    return size


class RevokedIds:
    """A set of revoked token ids, each kept until its expiry plus ``grace`` seconds."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self._table = _empty(MIN_SLOTS)  # (hashes, kept-until, mask); replaced whole, never resized
        self._count = 0
        self._hours: dict[int, int] = {}  # hour of kept-until -> how many entries
        self._lock = threading.Lock()  # writers only
        self._pruned_at = time.time()

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"RevokedIds(count={self._count})"

    def __contains__(self, token_id: object) -> bool:
        if not isinstance(token_id, str):
            return False
        key = _key(token_id)
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
                self._rebuild(_slots_for(count), cutoff=0)

    def add(self, entries: Iterable[tuple[str, int]]) -> int:
        """Add ``(token id, expiry)`` pairs; an id already held keeps the later expiry.

        Returns how many ids were new.
        """
        added = 0
        with self._lock:
            for token_id, exp in entries:
                if 2 * (self._count + 1) > len(self._table[0]):
                    self._rebuild(2 * len(self._table[0]), cutoff=0)
                added += self._put(_key(token_id), _kept_until(exp, self.grace))
        return added

    def _put(self, key: int, kept: int) -> int:
        hashes, kept_until, mask = self._table
        slot = key & mask
        while True:
            found = hashes[slot]
            if found == key:
                old = kept_until[slot]
                if kept > old:
                    self._count_hour(old, -1)
                    self._count_hour(kept, 1)
                    kept_until[slot] = kept
                return 0
            if not found:
                kept_until[slot] = kept
                hashes[slot] = key  # readers see the id only once it is complete
                self._count += 1
                self._count_hour(kept, 1)
                return 1
            slot = (slot + 1) & mask

    def _count_hour(self, kept: int, delta: int) -> None:
        hour = kept // HOUR
        left = self._hours.get(hour, 0) + delta
        if left:
            self._hours[hour] = left
        else:
            self._hours.pop(hour, None)

    def prune(self, now: float | None = None) -> int:
        """Drop ids kept until a past hour, when enough have piled up; returns how many.

        A check costs one pass over the hour histogram (a few thousand entries at most), not over
        the ids. The table is rebuilt only when an eighth of it is due, or an hour after the last
        rebuild, so the cost of a rebuild is spread over at least that many expiries.
        """
        now = time.time() if now is None else now
        current = int(now) // HOUR
        with self._lock:
            due = sum(count for hour, count in self._hours.items() if hour < current)
            if not due:
                return 0
            if 8 * due < self._count and now - self._pruned_at < HOUR:
                return 0
            before = self._count
            self._rebuild(_slots_for(before - due), cutoff=current * HOUR)
            for hour in [hour for hour in self._hours if hour < current]:
                del self._hours[hour]
            self._pruned_at = now
            return before - self._count

    def _rebuild(self, size: int, cutoff: int) -> None:
        """Copy every id kept until ``cutoff`` or later into a new table of ``size`` slots."""
        old_hashes, old_kept, _ = self._table
        table = _empty(size)
        hashes, kept_until, mask = table
        count = 0
        for key, kept in zip(old_hashes, old_kept, strict=True):
            if not key or kept < cutoff:
                continue
            slot = key & mask
            while hashes[slot]:
                slot = (slot + 1) & mask
            kept_until[slot] = kept
            hashes[slot] = key
            count += 1
        self._table = table
        self._count = count


def _empty(size: int) -> tuple[array.array[int], array.array[int], int]:
    return array.array("q", bytes(8 * size)), array.array("I", bytes(4 * size)), size - 1


def _kept_until(exp: int, grace: float) -> int:
    return max(0, min(KEEP_MAX, int(exp + grace)))
