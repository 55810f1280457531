"""Sign-in throttling: after repeated failures for a user or an address, refuse for a while."""

from __future__ import annotations

import threading
import time
from collections import deque

from vault_bridge.errors import TooManyRequests

MAX_KEYS = 100_000


class LoginThrottle:
    """Per replica: at most ``limit`` failures per key within ``window`` seconds.

    Keys are the username and the client address, each counted on its own, so neither guessing
    one user's password from many addresses nor many users' from one address gets far.
    """

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        """Raise TooManyRequests while any key is over the limit."""
        now = time.monotonic()
        with self._lock:
            for key in keys:
                recent = self._recent(key, now)
                if len(recent) >= self.limit:
                    wait = int(recent[0] + self.window - now) + 1
                    raise TooManyRequests(
                        f"too many failed sign-ins; try again in {wait} seconds",
                        code="too_many_attempts",
                    )

    def failed(self, *keys: str) -> None:
        """Count a failure for each key (memory stays bounded: stale keys are dropped)."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                for stale in [
                    k for k, v in self._failures.items() if not v or v[-1] <= now - self.window
                ]:
                    del self._failures[stale]
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of each key."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.window:
            entries.popleft()
        return entries
