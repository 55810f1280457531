"""Eight replicas on one OpenBao: the per-replica constants that docs/scaling.md scales up.

On one throwaway OpenBao, REPLICAS apps are built and started as ``create_app`` starts them
(Services over the service's own AppRole login, one Vault token per replica), then:
  idle          for --idle seconds nothing is written: Vault requests per second per replica
                (``sys/leader``, not audited, apart from the rest), OpenBao's audit-log growth
                per replica per day (the file's growth over the window, divided by the replicas,
                and each replica's own lines told apart by its token's HMAC), raft entries
  quiet bound   seconds from a PAT revocation's answer until each replica refuses the token
                (``verify`` raises), with nothing else written
  stream        replica 0 appends a revocation --rate times a second for --stream seconds
                (compaction included: the stream passes the fold threshold): the other
                replicas' Vault requests per second, KV bytes sent and raft entries per
                revocation, audit bytes per revocation; the bound again, meanwhile
  one revoke    a PAT revocation end to end (index and log): Vault calls, KV bytes, raft entries
  memory        this process's RSS growth per started replica, and the RSS of one replica alone
                in a process of its own (interpreter, libraries, app, started services)
  cold start    a new replica's start (login, keys, revocation log) after all of the above

Run: .venv/bin/python benchmarks/bench_scale.py            (part of make bench)
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    MeteredClient,
    audit_bytes_by_token,
    bench_settings,
    rss_mb,
    throwaway_openbao,
)
from vault_bridge.app import create_app
from vault_bridge.bootstrap import bootstrap
from vault_bridge.config import Settings
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.errors import ServiceUnavailable, Unauthenticated
from vault_bridge.services import EXTENSION, Services
from vault_bridge.vault.names import SERVICE_ROLE
from vault_bridge.vault.sys import Sys

REPLICAS = 8
BOUND_TOKENS = 5  # PATs revoked per bound phase; each gives one sample per replica
FAR = int(time.time()) + 30 * 86400
USER = "scale-bench"


@dataclass
class Counters:
    """A replica's client counters at one moment."""

    calls: int
    leader: int
    written: int

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            self.calls - other.calls, self.leader - other.leader, self.written - other.written
        )


@dataclass
class Replica:
    """One replica: its app's services over its own metered AppRole client."""

    services: Services
    client: MeteredClient = field(init=False)

    def __post_init__(self) -> None:
        assert isinstance(self.services.client, MeteredClient)
        self.client = self.services.client

    def counters(self) -> Counters:
        return Counters(self.client.calls, self.client.leader_calls, self.client.bytes_written)


def service_env(server: EmbeddedOpenBao, settings: Settings) -> dict[str, str]:
    """The environment of a replica that logs in with the service's AppRole."""
    admin = server.admin_client()
    return {
        "VAULT_ADDR": server.addr,
        "VAULT_BRIDGE_ROLE_ID": Sys(admin).approle_role_id(settings.approle_mount, SERVICE_ROLE),
        "VAULT_BRIDGE_SECRET_ID": server.role_secret(SERVICE_ROLE, admin, settings.approle_mount),
        "VAULT_BRIDGE_ISSUER": settings.issuer,
        "VAULT_BRIDGE_AUDIT_LOG": "off",
    }


def start_replica(settings: Settings, env: dict[str, str]) -> Replica:
    """Build and start an app as ``create_app`` does, over a metered AppRole client."""
    client = MeteredClient(
        env["VAULT_ADDR"],
        role_id=env["VAULT_BRIDGE_ROLE_ID"],
        secret_id=env["VAULT_BRIDGE_SECRET_ID"],
        timeout=settings.vault_timeout,
    )
    app = create_app(settings, services=Services(settings, client))
    return Replica(app.extensions[EXTENSION])


class Raft:
    """Raft's applied index, read with no token (not audited, not counted on any replica)."""

    def __init__(self, server: EmbeddedOpenBao) -> None:
        self._sys = Sys(server.admin_client())

    def index(self) -> int:
        return int(self._sys.leader()["raft_applied_index"])


@dataclass
class Window:
    """What the replicas and the server did over a stretch of time."""

    seconds: float
    per_replica: list[Counters]
    audit_bytes: int
    audit_by_replica: list[int]
    raft_entries: int


def observe(
    server: EmbeddedOpenBao,
    replicas: list[Replica],
    raft: Raft,
    seconds: float,
    work: threading.Thread | None = None,
) -> Window:
    """Count for ``seconds`` (while ``work`` runs, if given)."""
    before = [replica.counters() for replica in replicas]
    offset = server.audit_log.stat().st_size
    index = raft.index()
    started = time.monotonic()
    if work is not None:
        work.start()
    time.sleep(seconds)
    if work is not None:
        work.join()
    elapsed = time.monotonic() - started
    end = server.audit_log.stat().st_size
    entries = raft.index() - index
    clients = [replica.client for replica in replicas]
    return Window(
        elapsed,
        [replica.counters() - was for replica, was in zip(replicas, before, strict=True)],
        end - offset,
        audit_bytes_by_token(server, offset, end, clients),
        entries,
    )


def bound(replicas: list[Replica], revoker: Replica, tokens: list[tuple[str, str]]) -> dict:
    """Seconds from each revocation's answer until every replica refuses the token."""
    samples: list[float] = []
    stale = 0
    for token_id, token in tokens:
        time.sleep(random.uniform(0.05, 0.5))
        revoker.services.tokens.revoke(USER, token_id)
        answered = time.perf_counter()
        waiting = list(replicas)
        while waiting:
            for replica in list(waiting):
                try:
                    replica.services.tokens.verify(token)
                except Unauthenticated:
                    samples.append(time.perf_counter() - answered)
                    waiting.remove(replica)
                except ServiceUnavailable:
                    stale += 1  # fails closed; counted, not a refusal of this token
            time.sleep(0.002)
    return {
        "median": statistics.median(samples),
        "max": max(samples),
        "n": len(samples),
        "503s": stale,
    }


def stream(writer: Replica, rate: float, seconds: float, latencies: list[float]) -> None:
    """Append one revocation every 1/rate seconds for ``seconds``."""
    denylist = writer.services.tokens.denylist
    started = time.monotonic()
    for n in range(int(rate * seconds)):
        time.sleep(max(0.0, started + n / rate - time.monotonic()))
        began = time.perf_counter()
        denylist.add({secrets.token_hex(16): FAR})
        latencies.append(time.perf_counter() - began)


def one_replica_rss(env: dict[str, str]) -> float:
    """RSS of a process that holds one started replica and nothing else."""
    code = (
        "import time; from benchmarks.common import rss_mb; from vault_bridge.app import "
        "create_app; app = create_app(); time.sleep(2); print(rss_mb()); "
        "app.extensions['vault_bridge'].close()"
    )
    root = Path(__file__).resolve().parent.parent
    answer = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return float(answer.stdout.strip().splitlines()[-1])


def issue(replica: Replica, count: int) -> list[tuple[str, str]]:
    tokens = []
    for i in range(count):
        record, token = replica.services.tokens.issue(USER, f"bound-{i}-{random.random()}", ["api"])
        tokens.append((record["id"], token))
    return tokens


def run(idle_seconds: float, rate: float, stream_seconds: float) -> None:
    with throwaway_openbao() as server:
        settings = bench_settings(server)
        bootstrap(server.admin_client(), settings)
        env = service_env(server, settings)
        raft = Raft(server)
        rss_before = rss_mb()
        replicas = [start_replica(settings, env) for _ in range(REPLICAS)]
        rss_after = rss_mb()
        first = replicas[0]
        first.services.directory.create_user(USER, "bench-password-123")
        tokens = issue(first, 3 * BOUND_TOKENS)
        for replica in replicas:  # every replica has verified (and cached) every token
            for _, token in tokens:
                replica.services.tokens.verify(token)
        time.sleep(5.0)  # after the last write a follower reads the log on 7 more ticks
        idle = observe(server, replicas, raft, idle_seconds)

        revoke_by = replicas[1]
        quiet = bound(replicas, revoke_by, tokens[:BOUND_TOKENS])

        latencies: list[float] = []
        writer = threading.Thread(target=stream, args=(first, rate, stream_seconds, latencies))
        busy_bound: dict = {}
        during = tokens[BOUND_TOKENS : 2 * BOUND_TOKENS]
        prober = threading.Thread(
            target=lambda: busy_bound.update(bound(replicas, revoke_by, during))
        )
        prober.start()
        busy = observe(server, replicas, raft, stream_seconds, work=writer)
        prober.join()

        # one PAT revocation end to end, with nothing else written
        time.sleep(1.0)
        costs = []
        for token_id, _ in tokens[2 * BOUND_TOKENS :]:
            was, index = revoke_by.counters(), raft.index()
            revoke_by.services.tokens.revoke(USER, token_id)
            costs.append((revoke_by.counters() - was, raft.index() - index))

        single = one_replica_rss(env)
        started = time.perf_counter()
        newcomer = start_replica(settings, env)
        cold = (time.perf_counter() - started, newcomer.client.calls)
        for replica in [*replicas, newcomer]:
            replica.services.close()
    report(
        idle,
        busy,
        quiet,
        busy_bound,
        costs,
        latencies,
        rate,
        (rss_after - rss_before) / REPLICAS,
        single,
        cold,
    )


def per_second(window: Window, replicas: slice, attribute: str) -> float:
    values = [getattr(c, attribute) for c in window.per_replica[replicas]]
    return statistics.mean(values) / window.seconds


def report(
    idle: Window,
    busy: Window,
    quiet: dict,
    busy_bound: dict,
    costs: list[tuple[Counters, int]],
    latencies: list[float],
    rate: float,
    rss_each: float,
    single: float,
    cold: tuple[float, int],
) -> None:
    everyone, followers = slice(None), slice(1, None)
    revocations = len(latencies)
    day = 86400 / 2**20
    rows = [
        ("replicas on one OpenBao", f"{REPLICAS}"),
        ("idle window s", f"{idle.seconds:.0f}"),
        ("idle Vault requests/s per replica", f"{per_second(idle, everyone, 'calls'):.2f}"),
        ("of them sys/leader (not audited)", f"{per_second(idle, everyone, 'leader'):.2f}"),
        (
            "idle audit MB/day per replica (file growth / replicas)",
            f"{idle.audit_bytes / REPLICAS / idle.seconds * day:.1f}",
        ),
        (
            "idle audit MB/day per replica, own lines: mean (min-max)",
            f"{statistics.mean(idle.audit_by_replica) / idle.seconds * day:.1f} "
            f"({min(idle.audit_by_replica) / idle.seconds * day:.1f}-"
            f"{max(idle.audit_by_replica) / idle.seconds * day:.1f})",
        ),
        ("idle raft entries", f"{idle.raft_entries}"),
        ("stream: revocations/s written by replica 0", f"{revocations / busy.seconds:.1f}"),
        ("stream: revoke latency median ms", f"{statistics.median(latencies) * 1000:.1f}"),
        (
            "stream: Vault requests/s per other replica",
            f"{per_second(busy, followers, 'calls'):.2f}",
        ),
        ("of them sys/leader", f"{per_second(busy, followers, 'leader'):.2f}"),
        (
            "stream: KV bytes sent per revocation, all replicas (compaction included)",
            f"{sum(c.written for c in busy.per_replica) / revocations:.0f}",
        ),
        (
            "stream: raft entries per revocation (PAT revocations of the bound included)",
            f"{busy.raft_entries / revocations:.2f}",
        ),
        (
            "stream: audit bytes per revocation, all replicas",
            f"{busy.audit_bytes / revocations:,.0f}",
        ),
        ("PAT revocation: Vault calls", f"{statistics.median(c.calls for c, _ in costs):.0f}"),
        ("PAT revocation: KV bytes sent", f"{statistics.median(c.written for c, _ in costs):,.0f}"),
        ("PAT revocation: raft entries", f"{statistics.median(e for _, e in costs):.0f}"),
        (
            "bound quiet: median / max s (samples, 503s)",
            f"{quiet['median']:.3f} / {quiet['max']:.3f} ({quiet['n']}, {quiet['503s']})",
        ),
        (
            "bound during the stream: median / max s (samples, 503s)",
            f"{busy_bound['median']:.3f} / {busy_bound['max']:.3f} "
            f"({busy_bound['n']}, {busy_bound['503s']})",
        ),
        ("RSS growth per started replica in one process MB", f"{rss_each:.1f}"),
        ("RSS of one replica alone in its process MB", f"{single:.1f}"),
        ("cold start of a new replica s (Vault calls)", f"{cold[0]:.2f} ({cold[1]})"),
    ]
    print("| measure | value |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=float, default=31.0, help="idle window, seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="revocations a second")
    parser.add_argument("--stream", type=float, default=15.0, help="stream window, seconds")
    args = parser.parse_args()
    run(args.idle, args.rate, args.stream)


if __name__ == "__main__":
    main()
