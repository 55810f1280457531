"""Revocation at scale: the revocation log against the earlier 256-shard design, in one run.

For each size (revoked, unexpired tokens already in the denylist) both designs are filled on
the same throwaway OpenBao, then measured side by side:
  revoke         latency of one revocation (median), KV bytes it writes, Vault calls
  compaction     KV bytes the log's compaction wrote to fold the prefill, per revoked id
  cold start     a new replica's first load: seconds, Vault calls, bytes read
  memory         bytes the loaded replica holds (tracemalloc, a separate load), and its peak
  bound          seconds from a revocation's answer until another replica holds it (median
                 and max; "busy": with a thread spinning in the process, at the largest size)
  quiet poll     Vault calls and audited bytes per minute per replica while nothing is written
                 (all followers run together for --window seconds, while new replicas load;
                 each follower's audit bytes are told apart by its token)
and, on a second throwaway OpenBao, a whole idle replica (keys, denylist, maintenance) for the
same window: its audit-log growth, per day.

Run: .venv/bin/python benchmarks/bench_revocations.py                   (make bench)
     .venv/bin/python benchmarks/bench_revocations.py --sizes 1000000 --window 61
                                                                         (make bench-scale)
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    MeteredClient,
    audit_bytes_by_token,
    bench_settings,
    throwaway_openbao,
)
from benchmarks.legacy_denylist import LegacyDenylist, LegacyStore
from vault_bridge.bootstrap import bootstrap
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.services import Services
from vault_bridge.tokens.checkpoint import Checkpoint
from vault_bridge.tokens.compaction import CompactionPolicy
from vault_bridge.tokens.denylist import SLOT_MAX, Denylist
from vault_bridge.vault.client import VaultError
from vault_bridge.vault.kv import KV
from vault_bridge.vault.revocations import RevocationStore

MOUNT = "vault-bridge"
STALENESS = 10.0
REVOKES = 20
BOUND_SAMPLES = 5
# followers do not compact during the quiet window: a fold of the prefill leaves deletions due
# 120 s later, a one-off that a replica idle for hours has long done (one manifest read every
# 10 minutes is what stays)
FOLLOWER_POLICY = CompactionPolicy(fold_after=10**9, maintain_every=10**6)


def metered(server: EmbeddedOpenBao) -> MeteredClient:
    return MeteredClient(
        server.addr,
        role_id=(server.root / "admin-role-id").read_text(),
        secret_id=(server.root / "admin-secret-id").read_text(),
        timeout=30,
    )


def new_id() -> str:
    return secrets.token_hex(16)


FAR = int(time.time()) + 180 * 86400


class NewDesign:
    """The revocation log, one prefix per size."""

    name = "log"

    def __init__(self, server: EmbeddedOpenBao, size: int) -> None:
        self.server = server
        self.prefix = f"bench-{size}/denylist"

    def replica(self, **options: Any) -> Denylist:
        return Denylist(
            RevocationStore(KV(metered(self.server), MOUNT), self.prefix), STALENESS, **options
        )

    def prefill(self, size: int) -> dict[str, float]:
        writer = self.replica(policy=CompactionPolicy(fold_after=1))  # fold whatever is there
        writer.sync()
        ids = [new_id() for _ in range(size)]
        for start in range(0, size, SLOT_MAX):
            writer.add(dict.fromkeys(ids[start : start + SLOT_MAX], FAR))
        client = writer.store.kv.client
        before = client.bytes_written
        head = writer._cursor
        while Checkpoint.from_secret(writer.store.read_manifest()).through < head:
            writer.compactor.run(position=head, live=size)
        return {"compaction bytes per id": (client.bytes_written - before) / size}


class OldDesign:
    """The earlier 256 shards."""

    name = "shards"

    def __init__(self, server: EmbeddedOpenBao, size: int) -> None:
        self.server = server
        self.prefix = f"bench-{size}/legacy"

    def replica(self, **_: Any) -> LegacyDenylist:
        return LegacyDenylist(LegacyStore(KV(metered(self.server), MOUNT), self.prefix))

    def prefill(self, size: int) -> dict[str, float]:
        store = LegacyStore(KV(metered(self.server), MOUNT), self.prefix)
        shards: dict[str, dict[str, int]] = {}
        for _ in range(size):
            token_id = new_id()
            shards.setdefault(token_id[:2], {})[token_id] = FAR
        versions = {
            shard: store.write_shard(shard, entries, 0) for shard, entries in shards.items()
        }
        store.write_meta({"shards": versions}, 0)
        return {}


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def revoke_cost(writer: Denylist | LegacyDenylist) -> dict[str, float]:
    client = writer.store.kv.client
    calls, written = client.calls, client.bytes_written
    latencies = [timed(lambda: writer.add({new_id(): FAR})) for _ in range(REVOKES)]
    return {
        "revoke latency ms": statistics.median(latencies) * 1000,
        "revoke bytes written": (client.bytes_written - written) / REVOKES,
        "revoke Vault calls": (client.calls - calls) / REVOKES,
    }


def logged_in(replica: Denylist | LegacyDenylist) -> Denylist | LegacyDenylist:
    """The replica, its client logged in (a login is a write: it would move raft's index)."""
    replica.store.kv.client.read("sys/mounts")
    return replica


def cold_start(replica: Any, second: Any) -> dict[str, float]:
    """A new replica's first load, then another one's memory (logged in already: reads only)."""
    client = replica.store.kv.client
    calls, read = client.calls, client.bytes_read
    seconds = timed(replica.sync)
    result = {
        "cold start s": seconds,
        "cold start Vault calls": client.calls - calls,
        "cold start MB read": (client.bytes_read - read) / 2**20,
    }
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        second.sync()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result["memory MB"] = (held - before) / 2**20
    result["memory peak MB"] = (peak - before) / 2**20
    return result


def bound(
    writer: Denylist | LegacyDenylist, follower: Denylist | LegacyDenylist, busy: bool
) -> dict[str, float]:
    """Seconds from the end of a revocation until the follower holds it."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(10_000))

    hog = threading.Thread(target=spin, daemon=True)
    if busy:
        hog.start()
    samples = []
    try:
        for _ in range(BOUND_SAMPLES):
            time.sleep(random.uniform(0.05, 0.3))  # a random phase against the 0.5 s tick
            token_id = new_id()
            writer.add({token_id: FAR})
            answered = time.perf_counter()
            while not follower.is_revoked(token_id):
                time.sleep(0.001)
            samples.append(time.perf_counter() - answered)
    finally:
        stop.set()
        if busy:
            hog.join()
    label = "bound busy" if busy else "bound"
    return {f"{label} median s": statistics.median(samples), f"{label} max s": max(samples)}


class IdleReplica:
    """A whole replica (keys, denylist, maintenance) on a server of its own, left idle."""

    def __init__(self, server: EmbeddedOpenBao) -> None:
        self.server = server
        settings = bench_settings(server)
        bootstrap(server.admin_client(), settings)
        self.services = Services(settings, server.admin_client())
        self.services.tokens.start()
        # start-up writes make the follower read for 3.5 s: measure from 5 s on
        self._timer = threading.Timer(5.0, self._begin)
        self._timer.start()

    def _begin(self) -> None:
        self.offset = self.server.audit_log.stat().st_size
        self.started = time.monotonic()

    def finish(self) -> dict[str, float]:
        self._timer.join()
        elapsed = time.monotonic() - self.started
        grown = self.server.audit_log.stat().st_size - self.offset
        self.services.close()
        return {"idle audit MB/day": grown / elapsed * 86400 / 2**20, "idle seconds": elapsed}


def run(sizes: list[int], window: float) -> None:
    with throwaway_openbao() as server, throwaway_openbao() as idle_server:
        idle = IdleReplica(idle_server)
        bootstrap(server.admin_client(), bench_settings(server))
        results: dict[tuple[int, str], dict[str, float | str]] = {}
        followers: list[tuple[dict[str, float | str], Any]] = []
        designs = []
        for size in sizes:
            for design in (NewDesign(server, size), OldDesign(server, size)):
                row: dict[str, float | str] = {}
                results[(size, design.name)] = row
                started = time.perf_counter()
                try:
                    row.update(design.prefill(size))
                except VaultError as exc:
                    row["refused"] = exc.message
                    continue
                row["prefill s"] = time.perf_counter() - started
                writer, follower = design.replica(), design.replica(policy=FOLLOWER_POLICY)
                if isinstance(writer, Denylist):
                    writer.sync()  # a running replica knows where the log ends
                follower.start()
                row.update(revoke_cost(writer))
                row.update(bound(writer, follower, busy=False))
                if design.name == "log" and size == sizes[-1]:
                    row.update(bound(writer, follower, busy=True))
                followers.append((row, follower))
                designs.append((row, design))
                took = time.perf_counter() - started
                print(f"measured {design.name} at {size:,} in {took:.0f} s", file=sys.stderr)
        # the quiet window: nothing is written; the followers idle while new replicas load
        # (reads only), and each follower's audit bytes are told apart by its token
        loads = [
            (row, logged_in(design.replica()), logged_in(design.replica()))
            for row, design in designs
        ]
        time.sleep(6.0)  # after the last write (the logins), a follower reads on 7 more ticks
        offset = server.audit_log.stat().st_size
        calls = [follower.store.kv.client.calls for _, follower in followers]
        started = time.monotonic()
        for row, replica, second in loads:
            row.update(cold_start(replica, second))
        time.sleep(max(0.0, window - (time.monotonic() - started)))
        elapsed = time.monotonic() - started
        end = server.audit_log.stat().st_size  # the login below is a write: not in the window
        clients = [follower.store.kv.client for _, follower in followers]
        audited = audit_bytes_by_token(server, offset, end, clients)
        for (row, follower), before, audit in zip(followers, calls, audited, strict=True):
            row["quiet Vault calls/min"] = (follower.store.kv.client.calls - before) * 60 / elapsed
            row["quiet audited KB/min"] = audit * 60 / elapsed / 1024
            row["quiet audit MB/day"] = audit * 86400 / elapsed / 2**20
            follower.close()
        idle_row = idle.finish()
    report(sizes, results, idle_row)


MEASURES = [
    ("revoke latency ms", "{:.1f}"),
    ("revoke bytes written", "{:,.0f}"),
    ("revoke Vault calls", "{:.1f}"),
    ("compaction bytes per id", "{:.0f}"),
    ("quiet Vault calls/min", "{:.0f}"),
    ("quiet audited KB/min", "{:.1f}"),
    ("quiet audit MB/day", "{:.1f}"),
    ("cold start s", "{:.2f}"),
    ("cold start Vault calls", "{:.0f}"),
    ("cold start MB read", "{:.1f}"),
    ("memory MB", "{:.1f}"),
    ("memory peak MB", "{:.1f}"),
    ("bound median s", "{:.3f}"),
    ("bound max s", "{:.3f}"),
    ("bound busy median s", "{:.3f}"),
    ("bound busy max s", "{:.3f}"),
]


def report(sizes: list[int], results: dict, idle: dict[str, float]) -> None:
    for size in sizes:
        new, old = results[(size, "log")], results[(size, "shards")]
        print(f"\n{size:,} revoked tokens")
        print("| measure | log | shards (earlier) | shards / log |")
        print("|---|---|---|---|")
        for name, form in MEASURES:
            if name not in new and name not in old:
                continue
            a = form.format(new[name]) if name in new else "n/a"
            b = form.format(old[name]) if name in old else "n/a"
            ratio = ""
            if name in new and name in old and new[name]:
                ratio = f"{old[name] / new[name]:.1f}x"
            print(f"| {name} | {a} | {b} | {ratio} |")
        if "refused" in old:
            print(f"| shards prefill | | refused: {old['refused']} | |")
    print(
        f"\nidle replica (keys, denylist, maintenance) on its own OpenBao for "
        f"{idle['idle seconds']:.0f} s: audit log grows {idle['idle audit MB/day']:.1f} MB/day "
        f"(budget <= 50)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--window", type=float, default=31.0)
    args = parser.parse_args()
    run([int(size) for size in args.sizes.split(",")], args.window)


if __name__ == "__main__":
    main()
