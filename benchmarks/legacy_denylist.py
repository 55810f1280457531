"""The earlier denylist design, kept for the benchmark only: the baseline the revocation log is
measured against in the same run.

256 KV shards ``<prefix>/shards/<xx>`` (``{token id: expiry}``, the first two hex digits of the
id), rewritten whole (read-modify-write with check-and-set) on every revocation, plus an index
``<prefix>/meta`` of shard versions that every replica read every 0.5 s. ``prune`` walked every
entry after each change.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.kv import KV, Secret


class LegacyStore:
    """The shard layout."""

    def __init__(self, kv: KV, prefix: str) -> None:
        self.kv = kv
        self.prefix = prefix

    def read_meta(self) -> Secret | None:
        return self.kv.read(f"{self.prefix}/meta")

    def write_meta(self, data: dict, cas: int) -> int:
        return self.kv.write(f"{self.prefix}/meta", data, cas=cas)

    def list_shards(self) -> list[str]:
        return [k for k in self.kv.list(f"{self.prefix}/shards") if not k.endswith("/")]

    def read_shard(self, shard: str) -> Secret | None:
        return self.kv.read(f"{self.prefix}/shards/{shard}")

    def write_shard(self, shard: str, entries: dict[str, int], cas: int) -> int:
        return self.kv.write(f"{self.prefix}/shards/{shard}", entries, cas=cas)


class LegacyDenylist:
    """The earlier Denylist, as it was (its sync ran in the token maintenance thread)."""

    def __init__(self, store: LegacyStore) -> None:
        self.store = store
        self._shards: dict[str, dict[str, int]] = {}
        self._shard_versions: dict[str, int] = {}
        self._meta_version = -1
        self._resync_marker: object = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._shards.values())

    def is_revoked(self, token_id: str) -> bool:
        entries = self._shards.get(token_id[:2])
        return entries is not None and token_id in entries

    def sync(self) -> None:
        with self._lock:
            meta = self.store.read_meta()
            if meta is None or meta.version == self._meta_version:
                return
            wanted = {str(k): int(v) for k, v in (meta.data.get("shards") or {}).items()}
            marker = meta.data.get("resync")
            full = self._meta_version < 0 or marker != self._resync_marker
            if full:
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
        self.prune()

    def add(self, entries: dict[str, int]) -> None:
        by_shard: dict[str, dict[str, int]] = defaultdict(dict)
        for token_id, exp in entries.items():
            by_shard[token_id[:2]][token_id] = int(exp)
        versions = {shard: self._merge_shard(shard, items) for shard, items in by_shard.items()}
        self._bump_meta(versions)
        with self._lock:
            for shard, items in by_shard.items():
                self._shards.setdefault(shard, {}).update(items)

    def _merge_shard(self, shard: str, items: dict[str, int]) -> int:
        while True:
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

    def _bump_meta(self, versions: dict[str, int]) -> None:
        while True:
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

    def prune(self) -> None:
        now = time.time()
        with self._lock:
            for shard, entries in self._shards.items():
                if any(exp <= now for exp in entries.values()):
                    self._shards[shard] = {k: v for k, v in entries.items() if v > now}

    def start(self, interval: float = 0.5) -> None:
        """Poll every ``interval`` seconds in a thread (the old maintenance loop, sync only)."""
        self.sync()
        self._thread = threading.Thread(target=self._poll, args=(interval,), daemon=True)
        self._thread.start()

    def _poll(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.sync()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
