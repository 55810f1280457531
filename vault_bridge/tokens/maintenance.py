"""The background loop that keeps a replica's token state fresh: keys and last use; it starts and
stops the denylist, which follows the revocation log in threads of its own."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from vault_bridge.errors import VaultBridgeError
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.keys import SigningKeys

log = logging.getLogger(__name__)


class Maintenance:
    """Re-reads the keys when Vault's raft index moved (checked every ``key_check_interval``
    through ``raft_index``, which is not audited, so an idle replica reads no key) and every
    ``key_interval`` whatever it says, and writes last-used times every ``flush_interval``
    (looking every ``poll_interval``); starts the denylist's own threads (nothing here can delay
    a revocation); started by the app, stopped by close()."""

    def __init__(
        self,
        denylist: Denylist,
        keys: SigningKeys,
        flush: Callable[[], object],
        *,
        poll_interval: float,
        key_interval: float,
        flush_interval: float,
        key_check_interval: float | None = None,
        raft_index: Callable[[], object] | None = None,
    ) -> None:
        self.denylist = denylist
        self.keys = keys
        self.flush = flush
        self.poll_interval = poll_interval
        self.key_interval = key_interval
        self.key_check_interval = key_check_interval or key_interval
        self.raft_index = raft_index
        self.flush_interval = flush_interval
        self._keys_index: object = None  # the raft index when the keys were last read
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True once started (and until closed)."""
        return self._thread is not None

    def start(self) -> None:
        """Load keys and denylist now (best effort), then keep them fresh (idempotent)."""
        with self._lock:
            if self._thread is not None:
                return
            self.denylist.start()  # loads now if it can; its own thread retries if not
            try:
                self._refresh_keys()
            except VaultBridgeError as exc:  # the loop retries; requests fail closed meanwhile
                log.warning("signing keys not loaded yet: %s", exc.message)
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run, name="vault-bridge-tokens", daemon=True
            )
            self._thread.start()

    def close(self) -> None:
        """Stop the loop and wait for it."""
        self._stop.set()
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        self.denylist.close()

    def _refresh_keys(self) -> None:
        """Read the keys, noting the raft index they were read at."""
        index = self._raft_index()
        self.keys.refresh()
        self._keys_index = index

    def _raft_index(self) -> object:
        if self.raft_index is None:
            return None
        try:
            return self.raft_index()
        except VaultBridgeError:
            return None  # unknown: the periodic refresh still comes

    def _keys_may_have_changed(self) -> bool:
        index = self._raft_index()
        return index is not None and index != self._keys_index

    def _run(self) -> None:
        next_keys = time.monotonic() + self.key_interval
        next_check = time.monotonic() + self.key_check_interval
        next_flush = time.monotonic() + self.flush_interval
        while not self._stop.wait(self.poll_interval):
            try:
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + self.key_check_interval
                    if self._keys_may_have_changed():
                        next_keys = now  # read them now
                if now >= next_keys:
                    next_keys = now + self.key_interval
                    self._refresh_keys()
                if now >= next_flush:
                    next_flush = now + self.flush_interval
                    self.flush()
            except VaultBridgeError as exc:
                log.warning("token maintenance: %s", exc.message)
            except Exception:  # keep the loop alive; the staleness bound fails requests closed
                log.exception("token maintenance failed")
