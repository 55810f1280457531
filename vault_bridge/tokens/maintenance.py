"""The background work that keeps a replica's token state fresh, each job in a thread of its own:
the denylist follows the revocation log (its own threads), the signing keys are re-read, last
uses are written, and other periodic tasks run. Nothing here can delay a revocation, and no task
waits behind another."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vault_bridge.errors import VaultBridgeError
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.keys import SigningKeys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    """A periodic task: ``run`` every ``interval`` seconds (the first time after one interval,
    or after a random part of it with ``spread``, so that replicas do not run it in step)."""

    name: str
    interval: float
    run: Callable[[], object]
    spread: bool = False


class KeyWatch:
    """Re-reads the signing keys when Vault's raft index moved (``raft_index`` reads it from
    ``sys/leader``, which is not audited, so an idle replica reads no key) and every
    ``interval`` whatever it says."""

    def __init__(
        self,
        keys: SigningKeys,
        interval: float,
        raft_index: Callable[[], object] | None = None,
    ) -> None:
        self.keys = keys
        self.interval = interval
        self.raft_index = raft_index
        self._index: object = None  # the raft index when the keys were last read
        self._next = time.monotonic() + interval

    def refresh(self) -> None:
        """Read the keys now, noting the raft index they were read at."""
        index = self._raft_index()
        self.keys.refresh()
        self._index = index
        self._next = time.monotonic() + self.interval

    def check(self) -> None:
        """Read the keys when the index moved or the interval passed."""
        if time.monotonic() >= self._next:
            self.refresh()
            return
        index = self._raft_index()
        if index is not None and index != self._index:
            self.refresh()

    def _raft_index(self) -> object:
        if self.raft_index is None:
            return None
        try:
            return self.raft_index()
        except VaultBridgeError:
            return None  # unknown: the periodic refresh still comes


class Maintenance:
    """Starts the denylist and one thread per task; started by the app, stopped by close()."""

    def __init__(self, denylist: Denylist, tasks: Sequence[Task] = ()) -> None:
        self.denylist = denylist
        self.tasks = list(tasks)
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running = False

    @property
    def running(self) -> bool:
        """True once started (and until closed)."""
        return self._running

    def start(self, before: Callable[[], None] | None = None) -> None:
        """Load the denylist now (best effort), run ``before`` (best effort), then start the
        tasks' threads (idempotent)."""
        with self._lock:
            if self._running:
                return
            self.denylist.start()  # loads now if it can; its own thread retries if not
            if before is not None:
                try:
                    before()
                except VaultBridgeError as exc:  # the tasks retry; requests fail closed
                    log.warning("token state not loaded yet: %s", exc.message)
            self._stop.clear()
            self._threads = [
                threading.Thread(
                    target=self._loop, args=(task,), name=f"vault-bridge-{task.name}", daemon=True
                )
                for task in self.tasks
            ]
            for thread in self._threads:
                thread.start()
            self._running = True

    def close(self) -> None:
        """Stop the threads and wait for them."""
        self._stop.set()
        with self._lock:
            threads, self._threads = self._threads, []
            self._running = False
        for thread in threads:
            thread.join(timeout=5)
        self.denylist.close()

    def _loop(self, task: Task) -> None:
        first = task.interval * (random.uniform(0.1, 1.0) if task.spread else 1.0)  # noqa: S311
        deadline = time.monotonic() + first
        while not self._stop.wait(max(0.0, deadline - time.monotonic())):
            deadline = max(deadline + task.interval, time.monotonic())
            try:
                task.run()
            except VaultBridgeError as exc:
                log.warning("%s: %s", task.name, exc.message)
            except Exception:  # keep the loop alive; the staleness bound fails requests closed
                log.exception("%s failed", task.name)
