"""Where the revocation denylist lives in the KV mount: a log, a checkpoint, and the old shards.

Layout (under ``<prefix>/``, ``denylist/`` by default; docs/vault-layout.md has the reasoning):

- ``log/<n>``: one revocation batch, ``{<token id>: <expiry, unix time>}``, created with
  check-and-set 0. Slots are numbered 1, 2, 3, ... without gaps; a slot is never rewritten.
- ``checkpoint``: the manifest of the compacted part: which log slots it covers (``through``),
  its chunks, and the bookkeeping of the compactor.
- ``chunks/<generation>/<i>``: compacted entries, ``{<token id>: <expiry>}``, at most a few
  thousand each, so that every KV write stays far below raft's entry size limit.
- ``meta`` and ``shards/<xx>``: the earlier layout (256 shards), read once to take it over.
"""

from __future__ import annotations

from typing import Any

from vault_bridge.vault.kv import KV, Secret
from vault_bridge.vault.names import DENYLIST_FOLDER
from vault_bridge.vault.sys import Sys


class RevocationStore:
    """KV operations on the revocation log, its checkpoint, and the earlier shard layout."""

    def __init__(self, kv: KV, prefix: str = DENYLIST_FOLDER) -> None:
        self.kv = kv
        self.prefix = prefix.strip("/")
        self._sys = Sys(kv.client)

    def __repr__(self) -> str:
        return f"RevocationStore(mount={self.kv.mount!r}, prefix={self.prefix!r})"

    # -- freshness -----------------------------------------------------------------------------

    def applied_index(self) -> int | None:
        """Raft's applied index from ``sys/leader`` (not audited); None without raft storage."""
        index = self._sys.leader().get("raft_applied_index")
        return int(index) if isinstance(index, int) and index > 0 else None

    # -- the log -------------------------------------------------------------------------------

    def slot_path(self, number: int) -> str:
        """Path of log slot ``number``."""
        return f"{self.prefix}/log/{number}"

    def read_slot(self, number: int) -> dict[str, Any] | None:
        """The entries of one log slot; None when it does not exist (yet, or any more)."""
        secret = self.kv.read(self.slot_path(number))
        return None if secret is None else secret.data

    def claim_slot(self, number: int, entries: dict[str, int]) -> None:
        """Create a log slot; CasConflict when it exists already."""
        self.kv.write(self.slot_path(number), entries, cas=0)

    def delete_slot(self, number: int) -> None:
        """Delete a folded log slot with all its versions."""
        self.kv.destroy(self.slot_path(number))

    # -- the checkpoint ------------------------------------------------------------------------

    def read_manifest(self) -> Secret | None:
        """The checkpoint manifest and its KV version; None before the first start."""
        return self.kv.read(f"{self.prefix}/checkpoint")

    def write_manifest(self, data: dict[str, Any], cas: int) -> int:
        """Replace the manifest if it is still at version ``cas`` (0: create); the new version."""
        return self.kv.write(f"{self.prefix}/checkpoint", data, cas=cas)

    def read_chunk(self, key: str) -> dict[str, Any] | None:
        """One checkpoint chunk; None when it is gone (replaced by a later compaction)."""
        secret = self.kv.read(f"{self.prefix}/chunks/{key}")
        return None if secret is None else secret.data

    def write_chunk(self, key: str, data: dict[str, str]) -> None:
        """Create a checkpoint chunk (chunks are never rewritten)."""
        self.kv.write(f"{self.prefix}/chunks/{key}", data, cas=0)

    def delete_chunk(self, key: str) -> None:
        """Delete a chunk no manifest refers to any more."""
        self.kv.destroy(f"{self.prefix}/chunks/{key}")

    def chunk_keys(self, generation: str) -> list[str]:
        """Keys of the chunks one compaction wrote (to clean up after a compactor that died)."""
        folder = f"{self.prefix}/chunks/{generation}"
        return [f"{generation}/{key}" for key in self.kv.list(folder) if not key.endswith("/")]

    # -- the earlier layout --------------------------------------------------------------------

    def read_legacy(self) -> dict[str, Any] | None:
        """Every entry of the earlier 256-shard layout; None when there is none."""
        shards = [key for key in self.kv.list(f"{self.prefix}/shards") if not key.endswith("/")]
        meta = self.kv.read(f"{self.prefix}/meta")
        if not shards and meta is None:
            return None
        entries: dict[str, Any] = {}
        for shard in shards:
            secret = self.kv.read(f"{self.prefix}/shards/{shard}")
            if secret is not None:
                entries.update(secret.data)
        return entries

    def delete_legacy(self) -> None:
        """Remove the earlier layout once its entries are in the log."""
        for shard in self.kv.list(f"{self.prefix}/shards"):
            if not shard.endswith("/"):
                self.kv.destroy(f"{self.prefix}/shards/{shard}")
        self.kv.destroy(f"{self.prefix}/meta")
