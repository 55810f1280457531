"""Sign-in throttling, per replica: failures counted per (account, address) pair, per address and
per account, each over a sliding window.

- An address that fails ``pair`` times for one account is refused for that account: five wrong
  guesses lock nobody else out, the account's owner included.
- An address that fails ``address`` times, whatever the accounts, is refused for every account:
  spraying one password over many accounts stops. A successful sign-in from it (the attacker's
  own account) clears nothing but that pair.
- An account that fails ``account`` times, whatever the addresses, is refused to addresses that
  have not signed it in successfully within ``known_for`` seconds: a distributed guesser stops,
  its owner still signs in from where they did before.

Every refusal says how long it lasts (``retry_after``). Across replicas, OpenBao's userpass
lockout (configured by bootstrap, well above these limits) caps what a guesser spreading over
many replicas gets.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from vault_bridge.errors import TooManyRequests

MAX_KEYS = 100_000


@dataclass(frozen=True)
class Limits:
    """Failures allowed within ``window`` seconds, per kind of key."""

    pair: int = 5
    address: int = 20
    account: int = 20
    window: float = 900.0
    known_for: float = 86400.0  # an address that signed an account in is known this long


class LoginThrottle:
    """Counts sign-in failures and refuses (429, with Retry-After) over the limits."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._failures: dict[str, deque[float]] = {}
        self._known: dict[tuple[str, str], float] = {}  # (account, address) -> known until
        self._lock = threading.Lock()

    # -- sign-in -------------------------------------------------------------------------------

    def check(self, account: str, address: str) -> None:
        """Raise TooManyRequests while this sign-in is over a limit."""
        now = time.monotonic()
        with self._lock:
            waits = [
                self._wait(f"pair:{account}@{address}", self.limits.pair, now),
                self._wait(f"ip:{address}", self.limits.address, now),
            ]
            if self._known.get((account, address), 0.0) <= now:
                waits.append(self._wait(f"user:{account}", self.limits.account, now))
        self._refuse(max(waits))

    def failed(self, account: str, address: str) -> None:
        """Count a failure against the pair, the address and the account."""
        self.count(f"pair:{account}@{address}", f"ip:{address}", f"user:{account}")

    def succeeded(self, account: str, address: str) -> None:
        """Forget the pair's failures and remember the address as known for the account (the
        address's own failures stay: they may be guesses at other accounts)."""
        now = time.monotonic()
        with self._lock:
            self._failures.pop(f"pair:{account}@{address}", None)
            if len(self._known) > MAX_KEYS:
                self._known = {k: v for k, v in self._known.items() if v > now}
            self._known[(account, address)] = now + self.limits.known_for

    # -- any key (password changes) ------------------------------------------------------------

    def check_key(self, key: str, limit: int, what: str = "failed sign-ins") -> None:
        """Raise TooManyRequests while ``key`` has ``limit`` failures (``what``) in the
        window."""
        with self._lock:
            wait = self._wait(key, limit, time.monotonic())
        self._refuse(wait, what)

    def count(self, *keys: str) -> None:
        """Count a failure for each key (memory stays bounded: stale keys are dropped)."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > MAX_KEYS:
                for stale in [
                    k
                    for k, v in self._failures.items()
                    if not v or v[-1] <= now - self.limits.window
                ]:
                    del self._failures[stale]
            for key in keys:
                self._recent(key, now).append(now)

    def clear(self, key: str) -> None:
        """Forget a key's failures."""
        with self._lock:
            self._failures.pop(key, None)

    # -- inside --------------------------------------------------------------------------------

    def _wait(self, key: str, limit: int, now: float) -> int:
        """Seconds until ``key`` is under its limit again (0: it is)."""
        recent = self._recent(key, now)
        if len(recent) < limit:
            return 0
        return int(recent[-limit] + self.limits.window - now) + 1

    @staticmethod
    def _refuse(wait: int, what: str = "failed sign-ins") -> None:
        if wait > 0:
            raise TooManyRequests(
                f"too many {what}; try again in {wait} seconds",
                code="too_many_attempts",
                retry_after=wait,
            )

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.limits.window:
            entries.popleft()
        return entries
