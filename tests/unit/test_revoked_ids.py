"""The in-memory set of revoked ids: answers, expiry, memory bound, readers during a rebuild."""

from __future__ import annotations

import secrets
import sys
import threading
import time
import tracemalloc

import pytest

from vault_bridge.tokens.checkpoint import (
    UNREADABLE_KEEP,
    Entries,
    decode_chunk,
    encode_chunk,
    parse_slot,
)
from vault_bridge.tokens.revoked import HOUR, RevokedIds

NOW = 1_900_000_000  # a fixed "now", on an hour boundary plus a bit
FAR = NOW + 30 * 86400


def ids(count: int) -> list[str]:
    return [secrets.token_hex(16) for _ in range(count)]


def test_holds_what_was_added_and_nothing_else() -> None:
    revoked = RevokedIds(grace=15)
    held, other = ids(5000), ids(5000)
    assert revoked.add((token_id, FAR) for token_id in held) == 5000
    assert all(token_id in revoked for token_id in held)
    assert not any(token_id in revoked for token_id in other)
    assert len(revoked) == 5000
    assert revoked.add([(held[0], FAR + 1)]) == 0 and len(revoked) == 5000
    assert 42 not in revoked and None not in revoked


def test_an_entry_is_kept_until_expiry_plus_grace() -> None:
    revoked = RevokedIds(grace=15)
    edge = NOW - NOW % HOUR + HOUR - 100  # expires 100 s before an hour ends
    token_id = ids(1)[0]
    revoked.add([(token_id, edge)])
    filler = ids(10)
    revoked.add((t, FAR) for t in filler)
    # past its expiry, past expiry + grace, and past the hour: held until the hour is over
    for moment in (edge + 1, edge + 15, edge + 99):
        assert revoked.maintain(moment) == 0
        assert token_id in revoked
    assert revoked.maintain(edge - edge % HOUR + HOUR + 1) == 1
    assert token_id not in revoked and all(t in revoked for t in filler)


def test_a_later_expiry_wins() -> None:
    revoked = RevokedIds(grace=0)
    token_id = ids(1)[0]
    revoked.add([(token_id, NOW + 10)])
    revoked.add([(token_id, NOW + 3 * HOUR)])
    revoked.add([(token_id, NOW + 20)])  # an earlier one does not shorten it
    assert revoked.maintain(NOW + 2 * HOUR) == 0 and token_id in revoked


def test_pruning_waits_until_an_eighth_is_due_or_an_hour_passed() -> None:
    revoked = RevokedIds(grace=0)
    revoked._pruned_at = NOW
    revoked.add((t, FAR) for t in ids(1000))
    revoked.add((t, NOW - 2 * HOUR) for t in ids(100))  # 100 of 1100 due: under an eighth
    assert revoked.maintain(NOW + 60) == 0 and len(revoked) == 1100
    assert revoked.maintain(NOW + HOUR + 1) == 100 and len(revoked) == 1000
    revoked.add((t, NOW - 2 * HOUR) for t in ids(200))  # 200 of 1200: an eighth
    assert revoked.maintain(NOW + HOUR + 2) == 200
    assert all(hour >= (NOW + HOUR) // HOUR for hour in revoked._hours)  # bounded histogram


def test_the_table_stays_at_most_three_quarters_full_and_maintain_resizes_it() -> None:
    revoked = RevokedIds(grace=0)
    revoked.add((t, FAR) for t in ids(20_000))
    assert 3 * revoked.slots >= 4 * 20_000  # writers grow it only at three quarters
    revoked.maintain(NOW)
    assert 2 * 20_000 <= revoked.slots <= 4 * 20_000  # maintain keeps it at most half full
    revoked.add((t, NOW - 2 * HOUR) for t in ids(60_000))
    assert 4 * 80_000 <= 3 * revoked.slots <= 4 * 4 * 80_000
    assert revoked.maintain(NOW) == 60_000
    assert 2 * 20_000 <= revoked.slots <= 4 * 20_000  # shrinks again
    revoked.reserve(100_000)
    assert revoked.slots >= 200_000 and len(revoked) == 20_000


def test_additions_during_maintenance_are_kept() -> None:
    revoked = RevokedIds(grace=0)
    revoked.add((t, NOW - 2 * HOUR) for t in ids(100_000))  # all due: a long copy
    revoked.add((t, FAR) for t in ids(100_000))
    added: list[str] = []
    started = threading.Event()

    def write() -> None:
        started.wait()
        for _ in range(200):
            batch = ids(20)
            revoked.add((t, FAR) for t in batch)
            added.extend(batch)

    writer = threading.Thread(target=write)
    writer.start()
    started.set()
    dropped = revoked.maintain(NOW)
    writer.join()
    assert dropped == 100_000
    assert all(t in revoked for t in added) and len(revoked) == 100_000 + len(added)


def test_memory_per_id_is_bounded() -> None:
    held = ids(50_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        revoked = RevokedIds(grace=15)
        revoked.add((t, FAR) for t in held)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert used <= 50_000 * 50  # at most 50 bytes an id (12 a slot, at most 4 slots an id)
    assert abs(revoked.nbytes() - used) < used * 0.2  # and nbytes() says what it holds


@pytest.mark.slow
def test_a_million_ids_fit_in_far_less_than_100_mb() -> None:
    revoked = RevokedIds(grace=15)
    revoked.reserve(1_000_000)
    revoked.add((secrets.token_hex(16), FAR) for _ in range(1_000_000))
    assert len(revoked) == 1_000_000
    assert revoked.nbytes() + sys.getsizeof(revoked._hours) < 40 * 2**20
    probe = secrets.token_hex(16)
    best = float("inf")
    for _ in range(5):  # the best of five rounds: a busy machine slows a round, not the lookup
        started = time.perf_counter()
        for _ in range(20_000):
            _ = probe in revoked
        best = min(best, (time.perf_counter() - started) / 20_000)
    assert best < 5e-6  # microseconds, not more


def test_readers_never_miss_an_id_while_the_table_is_rebuilt() -> None:
    revoked = RevokedIds(grace=0)
    early = ids(500)
    revoked.add((t, FAR) for t in early)
    done = threading.Event()
    misses = []

    def read() -> None:
        while not done.is_set():
            misses.extend(t for t in early if t not in revoked)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(20):  # growth copies the table; dropping expired ids copies it too
            revoked.add((t, FAR) for t in ids(2000))
            revoked.add((t, NOW - 2 * HOUR) for t in ids(2000))
            revoked.maintain(NOW + 2 * HOUR)
    finally:
        done.set()
        reader.join()
    assert misses == []


def test_slot_entries_from_the_bao_cli_and_bad_expiries_fail_closed() -> None:
    entries = parse_slot({"ABCDEF" + "0" * 26: "1900000000", "a" * 32: "soon"}, now=NOW)
    assert entries.revoked["abcdef" + "0" * 26] == 1_900_000_000  # upper case, string: normalized
    assert entries.revoked["a" * 32] == NOW + UNREADABLE_KEEP  # not a number: kept, not dropped


def test_slot_entries_later_revocations_and_notices() -> None:
    later, now_id, bad = "b" * 32, "c" * 32, "d" * 32
    entries = parse_slot(
        {later: [FAR, NOW + 60], now_id: FAR, bad: [FAR, "whenever"], "blocks:acme": NOW}, now=NOW
    )
    assert entries.scheduled == {later: (FAR, NOW + 60)}
    assert entries.revoked == {now_id: FAR, bad: FAR}  # a malformed time: revoked now
    assert entries.notices == ["blocks:acme"]
    entries.merge(parse_slot({later: [FAR + 5, NOW + 30]}))
    assert entries.scheduled[later] == (FAR + 5, NOW + 30)  # the earliest time wins
    entries.merge(parse_slot({later: FAR}))
    assert later in entries.revoked and later not in entries.scheduled  # revoked now wins
    settled = parse_slot({later: [FAR, NOW + 60]}).settled(NOW + 61)
    assert settled.revoked == {later: FAR} and not settled.scheduled


def test_chunks_round_trip_in_one_string() -> None:
    pairs = [(t, FAR + i) for i, t in enumerate(ids(300))]
    entries = Entries(dict([*pairs, ("not a token id", FAR)]), {"e" * 32: (FAR, NOW + 9)})
    data = encode_chunk(entries)
    assert list(data) == ["entries"] and isinstance(data["entries"], str)
    decoded = decode_chunk(data)
    assert decoded.revoked == dict(pairs) and decoded.scheduled == {"e" * 32: (FAR, NOW + 9)}
