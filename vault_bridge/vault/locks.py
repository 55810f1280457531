"""Short leases in KV v2, taken with check-and-set, for read-modify-write of non-CAS objects.

Identity groups have no check-and-set; a membership change reads three groups and writes some of
them back. Every replica takes the organization's lease first, so two concurrent changes cannot
lose one another.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator

from vault_bridge.errors import Conflict
from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import lease_path


class Lease:
    """A named lease: held by one writer at a time, released or expired after ``ttl`` seconds."""

    def __init__(self, kv: KV, name: str, ttl: float = 10.0, wait: float = 5.0) -> None:
        self.kv = kv
        self.path = lease_path(name)
        self.ttl = ttl
        self.wait = wait

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Take the lease (waiting up to ``wait`` seconds), run the block, release it."""
        holder = secrets.token_hex(8)
        version = self._acquire(holder)
        try:
            yield
        finally:
            with contextlib.suppress(CasConflict):
                self.kv.write(self.path, {"holder": "", "until": 0}, cas=version)

    def _acquire(self, holder: str) -> int:
        deadline = time.monotonic() + self.wait
        delay = 0.01
        while True:
            current = self.kv.read(self.path)
            free = current is None or float(current.data.get("until") or 0) < time.time()
            if free:
                try:
                    return self.kv.write(
                        self.path,
                        {"holder": holder, "until": time.time() + self.ttl},
                        cas=current.version if current else 0,
                    )
                except CasConflict:
                    pass
            if time.monotonic() > deadline:
                raise Conflict("another change is in progress; try again", code="busy")
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
