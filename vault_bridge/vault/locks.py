"""Short leases in KV v2, taken with check-and-set, for read-modify-write of non-CAS objects.

Identity groups have no check-and-set; a membership change reads three groups and writes some of
them back. Every replica takes the organization's lease first, so two concurrent changes cannot
lose one another.

A holder renews its lease (a check-and-set write, a new KV version) every third of ``ttl`` while
it works. A waiting writer takes the lease over when it is free or when its KV version has not
moved for ``ttl`` seconds by the waiter's own clock: a holder that died (a crash, ``kill -9``)
blocks the next writer for about ``ttl`` seconds, never more, and no comparison of clocks
between replicas is involved.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Iterator

from vault_bridge.errors import Conflict, VaultBridgeError
from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import lease_path

log = logging.getLogger(__name__)
FREE = {"holder": "", "until": 0}


class Lease:
    """A named lease: held by one writer at a time; taken over when its holder stops renewing."""

    def __init__(self, kv: KV, name: str, ttl: float = 3.0, wait: float = 5.0) -> None:
        self.kv = kv
        self.path = lease_path(name)
        self.ttl = ttl
        self.wait = wait

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Take the lease (waiting up to ``wait`` seconds), run the block, release it."""
        holder = secrets.token_hex(8)
        renewer = _Renewer(self, holder, self._acquire(holder))
        renewer.start()
        try:
            yield
        finally:
            version = renewer.stop()
            with contextlib.suppress(CasConflict):
                self.kv.write(self.path, FREE, cas=version)

    def claim(self, holder: str, version: int) -> int:
        """Write the lease for ``holder`` over KV version ``version``; its new version."""
        return self.kv.write(
            self.path, {"holder": holder, "until": time.time() + self.ttl}, cas=version
        )

    def _acquire(self, holder: str) -> int:
        deadline = time.monotonic() + self.wait
        delay = 0.01
        seen: tuple[int, float] | None = None  # (version, when first seen by our clock)
        while True:
            current = self.kv.read(self.path)
            version = current.version if current else 0
            now = time.monotonic()
            if seen is None or seen[0] != version:
                seen = (version, now)
            free = current is None or not current.data.get("holder")
            if free or now - seen[1] >= self.ttl:  # free, or its holder stopped renewing
                try:
                    return self.claim(holder, version)
                except CasConflict:
                    pass
            if now > deadline:
                raise Conflict("another change is in progress; try again", code="busy")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


class _Renewer:
    """Renews a held lease every third of its ttl until stopped."""

    def __init__(self, lease: Lease, holder: str, version: int) -> None:
        self.lease = lease
        self.holder = holder
        self.version = version
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-renewal", daemon=True)

    def start(self) -> None:
        """Begin renewing."""
        self._thread.start()

    def stop(self) -> int:
        """Stop renewing; the lease's latest KV version."""
        self._stop.set()
        self._thread.join()
        return self.version

    def _run(self) -> None:
        while not self._stop.wait(self.lease.ttl / 3):
            try:
                self.version = self.lease.claim(self.holder, self.version)
            except CasConflict:
                log.warning("lost the lease %s while holding it", self.lease.path)
                return
            except VaultBridgeError as exc:  # Vault away for a moment: try again
                log.warning("could not renew the lease %s: %s", self.lease.path, exc.message)
