"""The revocation denylist: written to Vault before a revocation is acknowledged, mirrored locally.

Each replica keeps the whole denylist in memory (a dict per shard: a set lookup per request) and
polls one small index secret in Vault; see ``vault.records.DenylistStore`` for the layout.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.records import DenylistStore, shard_of

MAX_CAS_RETRIES = 20


class Denylist:
    """Local mirror of the revoked token ids, with a staleness bound (fail closed)."""

    def __init__(self, store: DenylistStore, max_staleness: float) -> None:
        self.store = store
        self.max_staleness = max_staleness
        self._shards: dict[str, dict[str, int]] = {}
        self._shard_versions: dict[str, int] = {}
        self._meta_version = -1
        self._resync_marker: object = None
        self._synced_at = float("-inf")  # monotonic time of the last successful sync
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._shards.values())

    @property
    def age(self) -> float:
        """Seconds since the last successful sync with Vault."""
        return time.monotonic() - self._synced_at

    def check_fresh(self) -> None:
        """Refuse to answer on a denylist older than the bound (fail closed)."""
        if time.monotonic() - self._synced_at > self.max_staleness:
            raise ServiceUnavailable(
                "token revocations cannot be confirmed right now (Vault unreachable); try again",
                code="denylist_stale",
            )

    def is_revoked(self, token_id: str) -> bool:
        """True when the id is on the denylist (no Vault call)."""
        entries = self._shards.get(token_id[:2])
        return entries is not None and token_id in entries

    def sync(self) -> None:
        """Fetch what changed since the last sync: one read when nothing did."""
        with self._lock:
            meta = self.store.read_meta()
            if meta is None:
                self._synced_at = time.monotonic()
                return
            if meta.version == self._meta_version:
                self._synced_at = time.monotonic()
                return
            wanted = {str(k): int(v) for k, v in (meta.data.get("shards") or {}).items()}
            marker = meta.data.get("resync")
            full = self._meta_version < 0 or marker != self._resync_marker
            if full:
                # the first load, or an operator asked for a full re-read: take every shard there
                # is, even those written with the Vault CLI and not (yet) in the index
                for shard in self.store.list_shards():
                    wanted.setdefault(shard, -1)
            for shard, version in wanted.items():
                if not full and self._shard_versions.get(shard) == version:
                    continue
                secret = self.store.read_shard(shard)
                entries = {} if secret is None else {k: int(v) for k, v in secret.data.items()}
                self._shards[shard] = entries
                self._shard_versions[shard] = secret.version if secret else 0
            self._meta_version = meta.version
            self._resync_marker = marker
            self._synced_at = time.monotonic()
        self.prune()

    def add(self, entries: dict[str, int]) -> None:
        """Revoke token ids (id -> expiry, unix time) in Vault, then locally.

        Each shard and the index are written with check-and-set, so concurrent revocations on
        several replicas never lose one another.
        """
        by_shard: dict[str, dict[str, int]] = defaultdict(dict)
        for token_id, exp in entries.items():
            by_shard[shard_of(token_id)][token_id] = int(exp)
        versions = {}
        for shard, items in by_shard.items():
            versions[shard] = self._merge_shard(shard, items)
        self._bump_meta(versions)
        with self._lock:
            for shard, items in by_shard.items():
                self._shards.setdefault(shard, {}).update(items)

    def _merge_shard(self, shard: str, items: dict[str, int]) -> int:
        for _ in range(MAX_CAS_RETRIES):
            current = self.store.read_shard(shard)
            now = time.time()
            merged = (
                {}
                if current is None
                else {k: int(v) for k, v in current.data.items() if int(v) > now}
            )
            merged.update(items)
            try:
                return self.store.write_shard(shard, merged, cas=current.version if current else 0)
            except CasConflict:
                continue
        raise ServiceUnavailable("could not record the revocation (too much contention)")

    def _bump_meta(self, versions: dict[str, int]) -> None:
        for _ in range(MAX_CAS_RETRIES):
            meta = self.store.read_meta()
            data = dict(meta.data) if meta else {}
            shards = dict(data.get("shards") or {})
            for shard, version in versions.items():
                shards[shard] = max(int(shards.get(shard, 0)), version)
            data["shards"] = shards
            try:
                self.store.write_meta(data, cas=meta.version if meta else 0)
                return
            except CasConflict:
                continue
        raise ServiceUnavailable("could not record the revocation (too much contention)")

    def prune(self) -> None:
        """Forget local entries whose token has expired anyway."""
        now = time.time()
        with self._lock:
            for shard, entries in self._shards.items():
                if any(exp <= now for exp in entries.values()):
                    self._shards[shard] = {k: v for k, v in entries.items() if v > now}
