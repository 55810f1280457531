"""PATs per user and first uses per replica: costs that do not grow with the count.

On a throwaway OpenBao:
  per user      list, create and operator revoke-by-id latency (median) and Vault calls with 10,
                100 and 1,000 tokens in one user's index, next to the earlier design's list (one
                read per record) on the same records
  memory        RSS of this process before and after 1,000,000 distinct tokens are seen (the
                verified-token cache and the usage tracker, both bounded)
  first uses    10,000 first uses of tokens of 1,000 users noted on one replica while its flush
                writes them; meanwhile another replica revokes tokens every 0.3 s: the seconds
                until the busy replica refuses each, and any 503 it answered for a valid token

Run: .venv/bin/python benchmarks/bench_tokens.py        (part of make bench)
"""

from __future__ import annotations

import datetime as dt
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import bench_settings, rss_mb, throwaway_openbao
from vault_bridge.bootstrap import bootstrap
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.errors import ServiceUnavailable, Unauthenticated
from vault_bridge.services import Services
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.tokens.usage import UsageTracker
from vault_bridge.tokens.verify import VerifiedToken
from vault_bridge.vault.names import pat_path
from vault_bridge.vault.records import PatRecord

SIZES = (10, 100, 1000)
SAMPLES = 15
SEEN = 1_000_000
FIRST_USES = 10_000
USERS = 1_000


def record(name: str) -> PatRecord:
    now = now_utc()
    return {
        "id": secrets.token_hex(16),
        "name": name,
        "scopes": ["api"],
        "created_at": iso(now) or "",
        "expires_at": iso(now + dt.timedelta(days=30)) or "",
        "last_used_at": iso(now),
        "description": None,
        "organizations": None,
        "personal": True,
        "last_used_addresses": ["203.0.113.7", "2001:db8::1"],
        "revoked_at": None,
        "revoked_by": None,
        "rotated_to": None,
    }


def measured(services: Services, action: Callable[[], object]) -> tuple[float, int]:
    calls = services.client.calls
    started = time.perf_counter()
    action()
    return time.perf_counter() - started, services.client.calls - calls


def median_ms(samples: list[tuple[float, int]]) -> tuple[float, float]:
    return (
        statistics.median(s for s, _ in samples) * 1000,
        statistics.median(c for _, c in samples),
    )


def per_user(services: Services) -> list[tuple[int, dict[str, tuple[float, float]]]]:
    tokens = services.tokens
    users = lambda: services.directory.userpass.list_users()  # noqa: E731
    rows = []
    for size in SIZES:
        user = f"bench-{size}"
        services.directory.create_user(user, "bench-password-123")
        prefill = [record(f"pre-{i}") for i in range(size - 1)]

        def add(table: dict[str, PatRecord], items: list[PatRecord] = prefill) -> tuple[None, bool]:
            table.update({r["id"]: r for r in items})
            return None, True

        tokens.index.update(user, add)
        for item in prefill:  # the per-token records too, for the earlier design's list
            tokens.records.kv.write(pat_path(user, item["id"]), dict(item), cas=0)
        tokens.records.mark_all_indexed()
        victim, _ = tokens.issue(user, "victim", ["api"])
        lists = [measured(services, lambda u=user: tokens.list(u)) for _ in range(SAMPLES)]
        legacy = [measured(services, lambda u=user: tokens.records.legacy(u)) for _ in range(3)]
        creates, revokes = [], []
        target = victim["id"]
        for i in range(SAMPLES):
            # operator revoke by id, then a create: the user stays at ``size`` active tokens
            revokes.append(
                measured(
                    services,
                    lambda t=target: tokens.revoke(
                        tokens.find_owner(t, users) or "", t, actor="operator"
                    ),
                )
            )
            holder: list[PatRecord] = []
            creates.append(
                measured(
                    services,
                    lambda u=user, n=i, h=holder: h.append(tokens.issue(u, f"new-{n}", ["api"])[0]),
                )
            )
            target = holder[0]["id"]
        rows.append(
            (
                size,
                {
                    "list": median_ms(lists),
                    "create": median_ms(creates),
                    "revoke by id (operator)": median_ms(revokes),
                    "list, earlier design": median_ms(legacy),
                },
            )
        )
    return rows


def memory(services: Services) -> dict[str, float]:
    """1M distinct tokens seen: verified (cached) and used, each from its own address."""
    verifier, usage = services.tokens.verifier, UsageTracker(services.tokens.index)
    before = rss_mb()
    body = "eyJ" + "A" * 300 + "." + "B" * 86  # a PAT's length
    for i in range(SEEN):
        verified = VerifiedToken(secrets.token_hex(16), "bench", frozenset({"api"}), 2**31, 0)
        verifier.remember(f"vbpat_{i:07d}{body}", verified)
        usage.touch(verified, f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}", orgs=["acme"])
    after = rss_mb()
    return {
        "RSS before MB": before,
        "RSS after 1M tokens MB": after,
        "verified-token cache entries": float(len(verifier)),
        "pending uses": float(len(usage)),
        "uses not noted (map full)": float(usage.dropped),
    }


def first_uses(server: EmbeddedOpenBao) -> dict[str, float]:
    settings = bench_settings(
        server, last_used_interval=1.0, denylist_poll_interval=0.5, denylist_max_staleness=10.0
    )
    writer = Services(settings, server.admin_client())
    busy = Services(settings, server.admin_client())
    busy.start()
    writer.tokens.keys.refresh()
    try:
        writer.directory.create_user("bystander", "bench-password-123")
        _, bystander = writer.tokens.issue("bystander", "bystander", ["api"])
        per_user_count = FIRST_USES // USERS
        uses = []
        for u in range(USERS):  # indexes of 1,000 users, 10 tokens each
            user = f"fu-{u}"
            items = [record(f"t{i}") for i in range(per_user_count)]

            def add(
                table: dict[str, PatRecord], items: list[PatRecord] = items
            ) -> tuple[None, bool]:
                table.update({r["id"]: r for r in items})
                return None, True

            writer.tokens.index.update(user, add)
            uses += [VerifiedToken(r["id"], user, frozenset({"api"}), 2**31, 0) for r in items]
        victims = [writer.tokens.issue("bystander", f"v{i}", ["api"]) for i in range(12)]
        for _, token in victims:
            busy.tokens.verify(token)
        usage = busy.tokens.usage
        stop = threading.Event()
        errors: list[str] = []
        checks = [0]

        def check_bystander() -> None:
            while not stop.is_set():
                try:
                    busy.tokens.verify(bystander)
                    checks[0] += 1
                except (ServiceUnavailable, Unauthenticated) as exc:
                    errors.append(exc.code)
                time.sleep(0.002)

        checker = threading.Thread(target=check_bystander, daemon=True)
        checker.start()
        started = time.perf_counter()
        for verified in uses:
            usage.touch(verified, "198.51.100.9")
        noted = time.perf_counter() - started
        bounds = []
        for record_, token in victims:
            time.sleep(0.3)
            writer.tokens.revoke("bystander", record_["id"])
            revoked = time.perf_counter()
            while True:
                try:
                    busy.tokens.verify(token)
                except Unauthenticated:
                    break
                except ServiceUnavailable as exc:
                    errors.append(exc.code)
                time.sleep(0.005)
            bounds.append(time.perf_counter() - revoked)
        while len(usage) or usage.flushing:
            time.sleep(0.05)
        written = time.perf_counter() - started
        stop.set()
        checker.join()
        return {
            "first uses noted": float(len(uses)),
            "noting them s": noted,
            "all written s": written,
            "first uses written per s": len(uses) / written,
            "revocations measured": float(len(bounds)),
            "bound median s": statistics.median(bounds),
            "bound max s": max(bounds),
            "bystander checks": float(checks[0]),
            "false 503s": float(errors.count("denylist_stale") + errors.count("vault_unavailable")),
        }
    finally:
        busy.close()
        writer.close()


def main() -> None:
    with throwaway_openbao() as server:
        settings = bench_settings(server)
        admin = server.admin_client()
        bootstrap(admin, settings)
        services = Services(settings, admin)
        rows = per_user(services)
        print(
            "| tokens per user | list ms (calls) | create ms (calls) | revoke by id ms (calls) "
            "| earlier list ms (calls) |"
        )
        print("|---|---|---|---|---|")
        for size, values in rows:
            cells = " | ".join(f"{ms:.1f} ({calls:.0f})" for ms, calls in values.values())
            print(f"| {size:,} | {cells} |")
        print()
        for name, value in memory(services).items():
            print(f"{name}: {value:,.1f}")
        print()
        for name, value in first_uses(server).items():
            print(f"{name}: {value:,.3f}")
        services.close()


if __name__ == "__main__":
    main()
