"""The checkpoint manifest of the revocation log, and the entries of log slots and chunks.

The manifest (``<prefix>/checkpoint`` in KV) says which log slots are compacted (``through``),
where their entries are now (``chunks``), and what the compactor still has to delete. Its KV
version is the check-and-set token every compactor writes against.

Vault and OpenBao limit how complex a request's JSON may be (OpenBao: 1,000 strings by default),
so the manifest holds numbers only, whatever the number of chunks, and a chunk holds its entries
in one string: ``"<token id>:<expiry> <token id>:<expiry> ..."``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterable
from typing import Any

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.ids import is_token_id
from vault_bridge.vault.kv import Secret

log = logging.getLogger(__name__)

FORMAT = 1
UNREADABLE_KEEP = 400 * 86400  # an expiry that is not a number: keep the entry this long


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One compacted chunk: written by compaction ``generation``, its ``index`` in it, how many
    entries it holds and their latest expiry."""

    generation: int
    index: int
    count: int
    max_exp: int

    @property
    def key(self) -> str:
        """Its path below ``chunks/``."""
        return f"{self.generation}/{self.index}"


@dataclasses.dataclass
class Checkpoint:
    """The manifest: log slots ``<= through`` are compacted into ``chunks``."""

    through: int = 0
    chunks: list[Chunk] = dataclasses.field(default_factory=list)
    folded: list[tuple[int, float]] = dataclasses.field(default_factory=list)  # (through, when)
    cleared: int = 0  # log slots <= cleared are deleted
    retired: list[tuple[Chunk, float]] = dataclasses.field(default_factory=list)  # (chunk, when)
    lease: dict[str, Any] | None = None
    legacy: int = 0
    version: int = 0  # the KV version this was read at (0: not yet written)

    @property
    def stored(self) -> int:
        """Entries in the chunks (duplicates and expired ones included)."""
        return sum(chunk.count for chunk in self.chunks)

    @classmethod
    def from_secret(cls, secret: Secret | None) -> Checkpoint:
        """Parse the manifest; an absent one is the empty checkpoint."""
        if secret is None:
            return cls()
        data = secret.data
        try:
            return cls(
                through=int(data.get("through") or 0),
                chunks=[Chunk(*map(int, row)) for row in data.get("chunks") or []],
                folded=[(int(n), float(t)) for n, t in data.get("folded") or []],
                cleared=int(data.get("cleared") or 0),
                retired=[
                    (Chunk(int(g), int(i), 0, 0), float(t)) for g, i, t in data.get("retired") or []
                ],
                lease=data.get("lease") or None,
                legacy=int(data.get("legacy_imported") or 0),
                version=secret.version,
            )
        except (TypeError, ValueError):
            raise ServiceUnavailable(
                "the revocation checkpoint in Vault is malformed; see docs/operations.md"
            ) from None

    def to_data(self) -> dict[str, Any]:
        """The manifest as stored in KV (numbers only)."""
        return {
            "format": FORMAT,
            "through": self.through,
            "chunks": [[c.generation, c.index, c.count, c.max_exp] for c in self.chunks],
            "folded": [[n, t] for n, t in self.folded],
            "cleared": self.cleared,
            "retired": [[c.generation, c.index, t] for c, t in self.retired],
            "lease": self.lease,
            "legacy_imported": self.legacy,
        }


def entries_of(data: dict[str, Any], now: float | None = None) -> dict[str, int]:
    """``{token id: expiry}`` of a log slot (``{id: expiry}``, as the bao CLI writes it too).

    An expiry that is not a number keeps the entry for a long time (fail closed) rather than
    dropping it.
    """
    entries = {}
    for key, exp in data.items():
        token_id = str(key).strip().lower()
        try:
            entries[token_id] = int(float(exp))
        except (TypeError, ValueError, OverflowError):
            log.warning("revocation of %r has no usable expiry; keeping it 400 days", token_id)
            entries[token_id] = int((time.time() if now is None else now) + UNREADABLE_KEEP)
    return entries


def encode_chunk(entries: Iterable[tuple[str, int]]) -> dict[str, str]:
    """A chunk's KV data: one string of ``id:expiry`` pairs (ids that are not token ids, which
    no token can carry, are left out)."""
    return {"entries": " ".join(f"{tid}:{exp}" for tid, exp in entries if is_token_id(tid))}


def decode_chunk(data: dict[str, Any]) -> dict[str, int]:
    """``{token id: expiry}`` of a chunk."""
    entries = {}
    for pair in str(data.get("entries") or "").split():
        token_id, _, exp = pair.partition(":")
        entries[token_id] = int(exp) if exp.isdigit() else int(time.time() + UNREADABLE_KEEP)
    return entries
