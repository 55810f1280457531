"""A background thread taking jobs from a bounded queue, started on the first job."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from vault_bridge.errors import VaultBridgeError

log = logging.getLogger(__name__)

J = TypeVar("J")


class Worker(Generic[J]):
    """Runs ``handle`` for each queued job, in order, in one daemon thread."""

    def __init__(self, name: str, handle: Callable[[J], object], size: int) -> None:
        self.name = name
        self.handle = handle
        self._queue: queue.Queue[tuple[J] | None] = queue.Queue(size)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, job: J) -> bool:
        """Queue a job; False when the queue is full."""
        try:
            self._queue.put_nowait((job,))
        except queue.Full:
            return False
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
        return True

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued job is done; False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self.handle(item[0])
            except VaultBridgeError as exc:
                log.warning("%s: %s", self.name, exc.message)
            except Exception:  # keep taking jobs
                log.exception("%s failed", self.name)
            finally:
                self._queue.task_done()
