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


@dataclasses.dataclass
class Entries:
    """What log slots and chunks hold: revocations effective now (``revoked``: id -> expiry),
    revocations that take effect later (``scheduled``: id -> (expiry, effective), a rotation's
    grace period), and notices of other changes to follow (``notices``, e.g. ``blocks:<org>``).
    """

    revoked: dict[str, int] = dataclasses.field(default_factory=dict)
    scheduled: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    notices: list[str] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.revoked) + len(self.scheduled)

    def revoke(self, token_id: str, exp: int) -> None:
        """An id revoked now (wins over a scheduled revocation of it)."""
        self.revoked[token_id] = max(exp, self.revoked.get(token_id, 0))
        self.scheduled.pop(token_id, None)

    def schedule(self, token_id: str, exp: int, effective: int) -> None:
        """An id revoked from ``effective`` on (the earliest time wins)."""
        if token_id in self.revoked:
            return
        known = self.scheduled.get(token_id)
        if known is not None:
            exp, effective = max(exp, known[0]), min(effective, known[1])
        self.scheduled[token_id] = (exp, effective)

    def merge(self, other: Entries) -> None:
        """Fold in later entries."""
        for token_id, exp in other.revoked.items():
            self.revoke(token_id, exp)
        for token_id, (exp, effective) in other.scheduled.items():
            self.schedule(token_id, exp, effective)
        self.notices.extend(n for n in other.notices if n not in self.notices)

    def settled(self, now: float) -> Entries:
        """The same, with scheduled revocations whose time has come as plain ones."""
        result = Entries(dict(self.revoked), {}, list(self.notices))
        for token_id, (exp, effective) in self.scheduled.items():
            if effective <= now:
                result.revoke(token_id, exp)
            else:
                result.schedule(token_id, exp, effective)
        return result


def _number(value: Any, now: float | None, token_id: str) -> int:
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        log.warning("revocation of %r has no usable expiry; keeping it 400 days", token_id)
        return int((time.time() if now is None else now) + UNREADABLE_KEEP)


def parse_slot(data: dict[str, Any], now: float | None = None) -> Entries:
    """The entries of a log slot: ``{<id>: <expiry>}`` (as the bao CLI writes it too),
    ``{<id>: [<expiry>, <effective>]}`` for a revocation that takes effect later, and
    ``{<kind>:<name>: <time>}`` for a notice.

    An expiry that is not a number keeps the entry for a long time (fail closed) rather than
    dropping it; so does a malformed later revocation (it takes effect now).
    """
    entries = Entries()
    for key, value in data.items():
        token_id = str(key).strip().lower()
        if ":" in token_id:
            entries.notices.append(str(key).strip())
        elif isinstance(value, list) and len(value) == 2:
            exp = _number(value[0], now, token_id)
            try:
                entries.schedule(token_id, exp, int(float(value[1])))
            except (TypeError, ValueError, OverflowError):
                entries.revoke(token_id, exp)
        else:
            entries.revoke(token_id, _number(value, now, token_id))
    return entries


def encode_chunk(entries: Entries) -> dict[str, str]:
    """A chunk's KV data: one string of ``id:expiry`` (``id:expiry:effective`` for a later
    revocation) pairs; ids that are not token ids, which no token can carry, are left out."""
    parts = [f"{tid}:{exp}" for tid, exp in entries.revoked.items() if is_token_id(tid)]
    parts += [
        f"{tid}:{exp}:{effective}"
        for tid, (exp, effective) in entries.scheduled.items()
        if is_token_id(tid)
    ]
    return {"entries": " ".join(parts)}


def decode_chunk(data: dict[str, Any]) -> Entries:
    """The entries of a chunk."""
    entries = Entries()
    revoked = entries.revoked
    unreadable = int(time.time() + UNREADABLE_KEEP)
    for pair in str(data.get("entries") or "").split():
        token_id, _, rest = pair.partition(":")
        if ":" in rest:  # rare: a later revocation
            exp, _, effective = rest.partition(":")
            expiry = int(exp) if exp.isdigit() else unreadable
            if effective.isdigit():
                entries.schedule(token_id, expiry, int(effective))
            else:
                entries.revoke(token_id, expiry)
        else:
            revoked[token_id] = int(rest) if rest.isdigit() else unreadable
    return entries
