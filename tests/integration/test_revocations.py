"""The revocation log against a real OpenBao: concurrent revokers, compaction, cold start,
freshness from the raft index, plain polling without raft, failing closed, the old layout."""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import eventually, free_port, free_port_pair
from vault_bridge.embedded import EmbeddedOpenBao, bao_binary
from vault_bridge.errors import ServiceUnavailable
from vault_bridge.tokens import denylist as denylist_module
from vault_bridge.tokens.checkpoint import Checkpoint
from vault_bridge.tokens.compaction import CompactionPolicy
from vault_bridge.tokens.denylist import SLOT_MAX, Denylist
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.revocations import RevocationStore
from vault_bridge.vault.sys import Sys

FAR = int(time.time()) + 30 * 86400
SMALL = CompactionPolicy(
    chunk_size=40, fold_after=10, delete_after=1.0, lease=5.0, check_every=0.05, maintain_every=0.3
)


def new_id() -> str:
    return secrets.token_hex(16)


@pytest.fixture
def replicas(admin_client: VaultClient, bao: EmbeddedOpenBao) -> Iterator[Callable[..., Denylist]]:
    """Denylists on one fresh prefix of the shared server, each with a Vault client of its own
    (so that its calls can be counted); closed after the test."""
    prefix = f"tests/{uuid.uuid4().hex[:12]}/denylist"
    made: list[Denylist] = []

    def make(**options: Any) -> Denylist:
        client = bao.admin_client()
        options.setdefault("poll_interval", 0.1)
        denylist = Denylist(
            RevocationStore(KV(client, "vault-bridge"), prefix),
            options.pop("staleness", 2.0),
            **options,
        )
        made.append(denylist)
        return denylist

    yield make
    for denylist in made:
        denylist.close()


def log_slots(store: RevocationStore) -> list[int]:
    return sorted(int(key) for key in store.kv.list(f"{store.prefix}/log"))


def test_concurrent_revokers_on_several_replicas_lose_nothing_and_leave_no_gaps(replicas) -> None:
    fleet = [replicas() for _ in range(3)]
    for denylist in fleet:
        denylist.start()
    revoked: list[str] = []
    errors: list[BaseException] = []

    def revoke(denylist: Denylist, batch: int) -> None:
        try:
            for _ in range(6):
                ids = {new_id(): FAR for _ in range(batch)}
                denylist.add(ids)
                revoked.extend(ids)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=revoke, args=(fleet[i % 3], 1 + i % 2)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    slots = log_slots(fleet[0].store)
    assert slots == list(range(1, len(slots) + 1))  # no gaps
    assert len(slots) == 9 * 6  # one slot per revocation, none overwritten
    for denylist in fleet:
        eventually(lambda d=denylist: all(d.is_revoked(i) for i in revoked), timeout=1.0)
        assert len(denylist) == len(revoked)


def test_a_large_batch_takes_several_slots(replicas) -> None:
    writer, reader = replicas(), replicas()
    reader.start()
    ids = {new_id(): FAR for _ in range(SLOT_MAX * 2 + 5)}
    writer.add(ids)
    assert log_slots(writer.store) == [1, 2, 3]
    eventually(lambda: all(reader.is_revoked(i) for i in ids), timeout=1.0)


def test_the_slots_a_replica_remembers_writing_are_bounded(replicas, monkeypatch) -> None:
    monkeypatch.setattr(denylist_module, "OWN_SLOTS_MAX", 4)
    writer = replicas()
    writer.sync()  # loaded, but not following the log
    written = [new_id() for _ in range(10)]
    for token_id in written:
        writer.add({token_id: FAR})
        assert len(writer._own) <= 4
    writer.sync()
    assert writer._own == set() and all(writer.is_revoked(i) for i in written)


def test_compaction_while_replicas_read(replicas) -> None:
    reading, compacting = replicas(policy=SMALL), replicas(policy=SMALL)
    reading.start()
    compacting.start()
    revoked: list[str] = []
    for round_ in range(60):
        ids = {new_id(): FAR for _ in range(1 + round_ % 3)}
        (reading if round_ % 2 else compacting).add(ids)
        revoked.extend(ids)
        time.sleep(0.02)
    eventually(
        lambda: Checkpoint.from_secret(reading.store.read_manifest()).cleared > 0, timeout=10
    )
    checkpoint = Checkpoint.from_secret(reading.store.read_manifest())
    assert checkpoint.through >= 40 and checkpoint.chunks
    assert checkpoint.stored == len({*revoked}) - sum(
        len(reading.store.read_slot(n) or {}) for n in range(checkpoint.through + 1, 61)
    )
    assert all(n > checkpoint.cleared for n in log_slots(reading.store))  # folded slots deleted
    for denylist in (reading, compacting):
        eventually(lambda d=denylist: all(d.is_revoked(i) for i in revoked), timeout=1.0)
    # a new replica starts from the checkpoint and the tail, and sees every revocation
    late = replicas(policy=SMALL)
    late.start()
    assert len(late) == len(revoked) and all(late.is_revoked(i) for i in revoked)
    more = {new_id(): FAR}
    compacting.add(more)
    eventually(lambda: late.is_revoked(next(iter(more))), timeout=1.0)


def test_cold_start_reads_the_checkpoint_chunks_and_the_tail(replicas) -> None:
    policy = CompactionPolicy(chunk_size=100, fold_after=1)
    writer = replicas(policy=policy)
    revoked = [new_id() for _ in range(1000)]
    for start in range(0, 1000, 250):
        writer.add(dict.fromkeys(revoked[start : start + 250], FAR))
    writer.sync()
    writer.compactor.run(position=4, live=len(writer))
    checkpoint = Checkpoint.from_secret(writer.store.read_manifest())
    assert checkpoint.through == 4 and len(checkpoint.chunks) == 10
    tail = [new_id() for _ in range(3)]
    for token_id in tail:
        writer.add({token_id: FAR})
    fresh = replicas(policy=policy)
    client = fresh.store.kv.client
    fresh.store.read_manifest()  # logs in first, so that the count below is the load alone
    before = client.calls
    fresh.sync()
    # sys/leader, the manifest, 10 chunks, the 3 tail slots and the first missing one
    assert client.calls - before == 1 + 1 + 10 + 3 + 1
    assert all(fresh.is_revoked(i) for i in revoked + tail) and len(fresh) == 1003


def test_expired_chunks_are_dropped_and_half_expired_chunks_rewritten(replicas) -> None:
    policy = CompactionPolicy(chunk_size=50, fold_after=1, delete_after=0.0)
    denylist = replicas(policy=policy)
    now = time.time()
    soon = {new_id(): int(now) + 60 for _ in range(100)}
    later = {new_id(): FAR for _ in range(100)}
    compactor = denylist.compactor
    denylist.sync()  # the first load creates the manifest
    denylist.add(soon)
    compactor.run(position=1, live=100, now=now)
    first = Checkpoint.from_secret(denylist.store.read_manifest())
    assert first.through == 1 and first.stored == 100
    denylist.add(later)
    compactor.run(position=2, live=200, now=now)
    both = Checkpoint.from_secret(denylist.store.read_manifest())
    assert both.through == 2 and both.stored == 200 and len(both.chunks) == 4
    # an hour later the first 100 have expired: their chunks go whole, without being read
    future = now + 3600
    client = denylist.store.kv.client
    before = client.calls
    compactor.run(position=2, live=100, now=future)
    # the manifest read, claim and write, the deletes of 2 folded slots, one tail read: no chunk
    assert client.calls - before == 6
    after = Checkpoint.from_secret(denylist.store.read_manifest())
    assert after.stored == 100 and {c.key for c in after.chunks} < {c.key for c in both.chunks}
    assert log_slots(denylist.store) == []
    # with most of a chunk set expired, everything left is rewritten into full chunks
    mixed = Checkpoint.from_secret(denylist.store.read_manifest())
    compactor.run(position=2, live=10, now=future)  # only 10 of 100 are still live
    rewritten = Checkpoint.from_secret(denylist.store.read_manifest())
    assert {c.key for c in rewritten.chunks}.isdisjoint(c.key for c in mixed.chunks)
    assert rewritten.stored == 100  # all 100 still unexpired in Vault: kept, now in new chunks
    reloaded = replicas(policy=policy)
    reloaded.sync()
    assert all(reloaded.is_revoked(i) for i in later)


def test_a_compactor_that_lost_its_lease_throws_its_chunks_away(replicas) -> None:
    policy = CompactionPolicy(chunk_size=50, fold_after=1, lease=0.0)
    first, second = replicas(policy=policy), replicas(policy=policy)
    first.add({new_id(): FAR for _ in range(30)})
    first.sync()
    store = first.store
    real_write = store.write_manifest
    # the first compactor stalls after writing its chunks; meanwhile the second takes over
    stalled = threading.Event()

    def slow_write(data: dict[str, Any], cas: int) -> int:
        if data.get("lease") is None and not stalled.is_set():
            stalled.set()
            second.compactor.run(position=1, live=30)
        return real_write(data, cas)

    store.write_manifest = slow_write  # type: ignore[method-assign]
    first.compactor.run(position=1, live=30)
    checkpoint = Checkpoint.from_secret(store.read_manifest())
    assert second.compactor.rounds == 1 and first.compactor.rounds == 0
    keys = {c.key for c in checkpoint.chunks}
    generations = {key.split("/")[0] for key in store.kv.list(f"{store.prefix}/chunks")}
    on_disk = {k for g in generations for k in store.chunk_keys(g.rstrip("/"))}
    assert on_disk == keys  # the loser's chunks are gone, the winner's are referenced


def test_the_earlier_shard_layout_is_taken_over_once(replicas, admin_client) -> None:
    denylist = replicas()
    kv, prefix = denylist.store.kv, denylist.store.prefix
    old = {new_id(): FAR for _ in range(12)}
    for token_id, exp in old.items():  # the layout of earlier versions: 256 shards and an index
        shard = f"{prefix}/shards/{token_id[:2]}"
        current = kv.read(shard)
        kv.write(shard, {**(current.data if current else {}), token_id: exp})
    kv.write(f"{prefix}/meta", {"shards": {}, "resync": 1})
    denylist.start()
    assert all(denylist.is_revoked(i) for i in old)
    assert kv.list(f"{prefix}/shards") == [] and kv.read(f"{prefix}/meta") is None
    checkpoint = Checkpoint.from_secret(denylist.store.read_manifest())
    assert checkpoint.legacy == 12
    slots = log_slots(denylist.store)
    again = replicas()
    again.start()
    assert log_slots(denylist.store) == slots  # not imported twice
    assert all(again.is_revoked(i) for i in old)


@pytest.mark.slow
def test_fails_closed_when_vault_is_unreachable_and_recovers(tmp_path) -> None:
    server = EmbeddedOpenBao(tmp_path / "own", free_port_pair())
    server.start()
    try:
        admin = server.admin_client()
        mount_kv(admin)
        denylist = Denylist(
            RevocationStore(KV(admin, "kv")), 1.0, poll_interval=0.1, full_poll_interval=1.0
        )
        denylist.start()
        try:
            eventually(lambda: denylist.age < 0.5, timeout=2)
            denylist.check_fresh()
            server.stop()
            eventually(lambda: denylist.age > 1.0, timeout=5)
            with pytest.raises(ServiceUnavailable) as refused:
                denylist.check_fresh()
            assert refused.value.code == "denylist_stale"
            server.start()
            eventually(lambda: denylist.age < 0.5, timeout=10)
            denylist.check_fresh()
        finally:
            denylist.close()
    finally:
        server.stop()


# -- freshness from the raft index, and plain polling without raft ---------------------------


def mount_kv(admin: VaultClient) -> None:
    if "kv/" not in Sys(admin).mounts():
        Sys(admin).enable_secrets("kv", "kv", {"version": "2"})
    eventually(lambda: _writable(KV(admin, "kv")), timeout=10, interval=0.05)


def _writable(kv: KV) -> bool:
    try:
        kv.write("ready", {"ok": True})
        return True
    except ServiceUnavailable:
        return False


@pytest.fixture(scope="module")
def quiet_bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedOpenBao]:
    """An OpenBao of its own that nothing else writes to (so raft's index stands still)."""
    server = EmbeddedOpenBao(tmp_path_factory.mktemp("quiet"), free_port_pair())
    server.start()
    mount_kv(server.admin_client())
    yield server
    server.stop()


def audited_reads(audit_log: Path, offset: int, fragment: str) -> int:
    """Audited requests whose path contains ``fragment``, written after byte ``offset``."""
    with open(audit_log, "rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode().splitlines()
    return sum(
        1
        for line in lines
        if line.strip()
        and json.loads(line).get("type") == "request"
        and fragment in json.loads(line)["request"].get("path", "")
    )


def quiet_follower(server: EmbeddedOpenBao, full_poll_interval: float) -> tuple[str, Denylist]:
    """A started follower on a fresh prefix, once the writes of its start have settled (they
    moved the index: a few reads, then quiet ticks)."""
    prefix = f"q{uuid.uuid4().hex[:8]}"
    follower = Denylist(
        RevocationStore(KV(server.admin_client(), "kv"), prefix),
        1.0,
        poll_interval=0.1,
        full_poll_interval=full_poll_interval,
    )
    follower.start()
    eventually(lambda: follower.quiet_ticks > 0, timeout=3)
    return prefix, follower


@pytest.mark.slow
def test_a_quiet_vault_is_confirmed_by_the_raft_index_without_reads(quiet_bao) -> None:
    prefix, follower = quiet_follower(quiet_bao, full_poll_interval=60)
    try:
        offset = quiet_bao.audit_log.stat().st_size
        quiet = follower.quiet_ticks
        calls = follower.store.kv.client.calls
        time.sleep(1.5)
        assert follower.quiet_ticks - quiet >= 10  # ~15 ticks, each one sys/leader call
        assert follower.store.kv.client.calls - calls == follower.quiet_ticks - quiet
        follower.check_fresh()  # confirmed by the unchanged index alone
        assert audited_reads(quiet_bao.audit_log, offset, prefix) == 0
        # any write to Vault moves the index: the follower reads the log once, finds nothing
        offset = quiet_bao.audit_log.stat().st_size
        KV(quiet_bao.admin_client(), "kv").write("elsewhere", {"x": 1})
        eventually(
            lambda: audited_reads(quiet_bao.audit_log, offset, f"{prefix}/log") >= 1, timeout=1
        )
        # and a revocation elsewhere reaches it within the bound
        writer = Denylist(RevocationStore(KV(quiet_bao.admin_client(), "kv"), prefix), 1.0)
        token_id = new_id()
        writer.add({token_id: FAR})
        assert eventually(lambda: follower.is_revoked(token_id), timeout=1.0) < 1.0
    finally:
        follower.close()


@pytest.mark.slow
def test_the_safety_net_reads_even_when_the_index_stands_still(quiet_bao) -> None:
    prefix, follower = quiet_follower(quiet_bao, full_poll_interval=0.5)
    try:
        offset = quiet_bao.audit_log.stat().st_size
        time.sleep(2.0)
        reads = audited_reads(quiet_bao.audit_log, offset, f"{prefix}/log")
        assert 3 <= reads <= 6  # one every 0.5 s, not one per tick (20)
    finally:
        follower.close()


@pytest.fixture(scope="module")
def dev_bao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """OpenBao's dev server: in-memory storage, no raft (``sys/leader`` has no index)."""
    port = free_port()
    home = tmp_path_factory.mktemp("dev")  # the dev server writes its token to ~/.vault-token
    log = open(home / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [
            bao_binary(),
            "server",
            "-dev",
            "-dev-root-token-id=dev-root",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": "/usr/bin:/bin", "HOME": str(home)},
    )
    addr = f"http://127.0.0.1:{port}"
    try:
        client = VaultClient(addr, token="dev-root")
        eventually(lambda: _writable(KV(client, "secret")) if _up(client) else False, timeout=15)
        yield addr
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _up(client: VaultClient) -> bool:
    try:
        return not client.health().get("sealed", True)
    except ServiceUnavailable:
        return False


@pytest.mark.slow
def test_without_raft_the_follower_polls_plainly(dev_bao) -> None:
    store = RevocationStore(KV(VaultClient(dev_bao, token="dev-root"), "secret"))
    assert store.applied_index() is None
    follower = Denylist(store, 1.0, poll_interval=0.1, full_poll_interval=60)
    follower.start()
    try:
        calls = store.kv.client.calls
        time.sleep(1.0)
        assert follower.quiet_ticks == 0
        assert 7 <= store.kv.client.calls - calls <= 12  # one log read per tick, no sys/leader
        follower.check_fresh()
        writer = Denylist(RevocationStore(KV(VaultClient(dev_bao, token="dev-root"), "secret")), 1)
        token_id = new_id()
        writer.add({token_id: FAR})
        assert eventually(lambda: follower.is_revoked(token_id), timeout=1.0) < 1.0
    finally:
        follower.close()
