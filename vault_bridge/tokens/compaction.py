"""Compaction of the revocation log: fold log slots into checkpoint chunks, drop expired entries.

Any replica may compact; a lease in the manifest keeps them from doing the same work twice, and
the final check-and-set write of the manifest decides (a compactor that lost its lease throws its
chunks away). Nothing a reader may still need is deleted at once: folded log slots and replaced
chunks are deleted ``delete_after`` seconds later, by a later round.

Costs, whatever the number of revoked tokens: a fold writes the new entries once, plus at most one
partly filled chunk again; an expired chunk is dropped whole; the chunks are rewritten (sorted by
expiry, so that they expire whole afterwards) only once at least half of what they hold has
expired, so each rewrite is paid for by as many expiries as it writes.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.ids import is_token_id
from vault_bridge.tokens.checkpoint import (
    Checkpoint,
    Chunk,
    Entries,
    decode_chunk,
    encode_chunk,
    parse_slot,
)
from vault_bridge.vault.client import CasConflict
from vault_bridge.vault.revocations import RevocationStore

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CompactionPolicy:
    """How the log is compacted (defaults for production; tests use small numbers)."""

    chunk_size: int = 5000  # entries per chunk: about 220 KB, a fifth of raft's 1 MiB entry limit
    fold_after: int = 256  # log slots past the checkpoint that make a replica fold them
    delete_after: float = 120.0  # seconds folded slots and replaced chunks stay readable
    lease: float = 60.0  # seconds a compactor holds the manifest's lease
    check_every: float = 5.0  # seconds between a replica's local checks (no Vault call)
    maintain_every: float = 600.0  # seconds between manifest reads when nothing is to fold
    max_fold: int = 50_000  # entries folded in one round (bounds a compactor's memory)
    max_deletes: int = 5_000  # slots deleted in one round

    @property
    def resync_after(self) -> float:
        """A replica that could not confirm it was up to date for this long reads the manifest
        before it trusts its log position again (folded slots may be deleted after
        ``delete_after``; the margin covers clock skew between replicas)."""
        return self.delete_after / 4


class Compactor:
    """One replica's side of compaction; ``run`` does one round if there is work."""

    def __init__(self, store: RevocationStore, policy: CompactionPolicy, retain: float) -> None:
        self.store = store
        self.policy = policy
        self.retain = retain  # seconds past its expiry an entry stays in Vault
        self.holder = secrets.token_hex(8)
        self.rounds = 0  # rounds completed (for tests and benchmarks)

    def __repr__(self) -> str:
        return f"Compactor(holder={self.holder!r})"

    def run(self, position: int, live: int, now: float | None = None) -> Checkpoint:
        """Read the manifest; if there is work, take the lease and do one round.

        ``position`` is how far this replica has read the log and ``live`` how many entries it
        holds. Returns the newest manifest this replica knows of.
        """
        now = time.time() if now is None else now
        checkpoint = Checkpoint.from_secret(self.store.read_manifest())
        if not checkpoint.version or not self._work(checkpoint, position, live, now):
            return checkpoint
        lease = checkpoint.lease or {}
        if lease.get("holder") not in (None, self.holder) and float(lease.get("until", 0)) > now:
            return checkpoint
        # the chunks this round writes are named after the manifest version of its claim: unique
        generation = checkpoint.version + 1
        claimed = dataclasses.replace(
            checkpoint,
            lease={"holder": self.holder, "until": now + self.policy.lease, "gen": generation},
        )
        try:
            claimed.version = self.store.write_manifest(claimed.to_data(), cas=checkpoint.version)
        except CasConflict:
            return checkpoint
        written: list[Chunk] = []
        try:
            result = self._round(claimed, lease.get("gen"), generation, live, now, written)
            result.lease = None
            result.version = self.store.write_manifest(result.to_data(), cas=claimed.version)
        except CasConflict:
            log.info("another replica took over the revocation compaction")
            self._discard(written)
            return Checkpoint.from_secret(self.store.read_manifest())
        except BaseException:
            self._discard(written)
            raise
        self.rounds += 1
        return result

    def _work(self, cp: Checkpoint, position: int, live: int, now: float) -> bool:
        return bool(
            position - cp.through >= self.policy.fold_after
            or self._expired_chunks(cp, now)
            or self._needs_rewrite(cp, live)
            or self._due_slots(cp, now) > cp.cleared
            or any(at + self.policy.delete_after < now for _, at in cp.retired)
            or (cp.lease and float(cp.lease.get("until", 0)) < now)
        )

    def _expired_chunks(self, cp: Checkpoint, now: float) -> list[Chunk]:
        return [chunk for chunk in cp.chunks if chunk.max_exp + self.retain < now]

    def _needs_rewrite(self, cp: Checkpoint, live: int) -> bool:
        return cp.stored > 2 * live + self.policy.chunk_size

    def _due_slots(self, cp: Checkpoint, now: float) -> int:
        """The highest log slot whose fold is old enough for the slot to be deleted."""
        return max(
            (through for through, at in cp.folded if at + self.policy.delete_after < now),
            default=0,
        )

    def _round(
        self,
        cp: Checkpoint,
        orphan_generation: int | None,
        generation: int,
        live: int,
        now: float,
        written: list[Chunk],
    ) -> Checkpoint:
        result = dataclasses.replace(cp, chunks=list(cp.chunks))
        self._delete_due(result, now)
        if orphan_generation:
            referenced = {c.key for c in cp.chunks} | {c.key for c, _ in cp.retired}
            for key in self.store.chunk_keys(str(int(orphan_generation))):
                if key not in referenced:
                    self.store.delete_chunk(key)
        head, folded = self._read_tail(cp.through)
        if self._needs_rewrite(cp, live) or self._expired_chunks(cp, now):
            keep, replaced = self._rewrite_set(cp, now, live)
        else:
            keep, replaced = list(cp.chunks), []
        if folded and keep and keep[-1].count < self.policy.chunk_size:
            replaced.append(keep.pop())  # top up the last, partly filled chunk
        writer = _ChunkWriter(self.store, generation, self.policy.chunk_size, written)
        cutoff = now - self.retain
        writer.add(folded.settled(now), cutoff)
        for chunk in replaced:
            if chunk.max_exp < cutoff:
                continue  # expired whole: dropped without reading it
            data = self.store.read_chunk(chunk.key)
            if data is None:
                raise ServiceUnavailable(f"revocation chunk {chunk.key} is missing")
            writer.add(decode_chunk(data).settled(now), cutoff)
        writer.flush()
        result.chunks = keep + writer.chunks
        result.retired = [*result.retired, *((chunk, now) for chunk in replaced)]
        if head > cp.through:
            result.through = head
            result.folded = [*result.folded, (head, now)]
        return result

    def _rewrite_set(
        self, cp: Checkpoint, now: float, live: int
    ) -> tuple[list[Chunk], list[Chunk]]:
        """Chunks to keep and chunks to replace: all of them when half is garbage, else only
        those expired whole."""
        if self._needs_rewrite(cp, live):
            return [], list(cp.chunks)
        expired = self._expired_chunks(cp, now)
        return [chunk for chunk in cp.chunks if chunk not in expired], expired

    def _read_tail(self, through: int) -> tuple[int, Entries]:
        """Entries of the log slots past ``through`` (as many as one round folds; notices are
        left out: what they announce is kept elsewhere)."""
        entries = Entries()
        number = through
        while len(entries) < self.policy.max_fold:
            data = self.store.read_slot(number + 1)
            if data is None:
                break
            number += 1
            entries.merge(parse_slot(data))
        entries.notices.clear()
        return number, entries

    def _delete_due(self, cp: Checkpoint, now: float) -> None:
        """Delete folded slots and replaced chunks that no reader can need any more."""
        due = self._due_slots(cp, now)
        if due > cp.cleared:
            upto = min(due, cp.cleared + self.policy.max_deletes)
            for number in range(cp.cleared + 1, upto + 1):
                self.store.delete_slot(number)
            cp.cleared = upto
            cp.folded = [(through, at) for through, at in cp.folded if through > upto]
        keep: list[tuple[Chunk, float]] = []
        for chunk, at in cp.retired:
            if at + self.policy.delete_after < now:
                self.store.delete_chunk(chunk.key)
            else:
                keep.append((chunk, at))
        cp.retired = keep

    def _discard(self, chunks: list[Chunk]) -> None:
        for chunk in chunks:
            try:
                self.store.delete_chunk(chunk.key)
            except Exception:  # best effort: a later round removes what is left (lease gen)
                log.warning("could not delete unused revocation chunk %s", chunk.key)


class _ChunkWriter:
    """Writes entries as chunks of ``size``, each sorted by expiry, holding at most two chunks'
    worth in memory (a full rewrite streams through the old chunks one at a time)."""

    def __init__(self, store: RevocationStore, generation: int, size: int, written: list[Chunk]):
        self.store = store
        self.generation = generation
        self.size = size
        self.chunks = written  # shared with the caller, who discards them if the round fails
        self._buffer: list[tuple[int, str, int]] = []  # expiry, id, effective (0: now)

    def add(self, entries: Entries, cutoff: float) -> None:
        self._buffer.extend(
            (exp, tid, 0)
            for tid, exp in entries.revoked.items()
            if is_token_id(tid) and exp >= cutoff
        )
        self._buffer.extend(
            (exp, tid, effective)
            for tid, (exp, effective) in entries.scheduled.items()
            if is_token_id(tid) and exp >= cutoff
        )
        while len(self._buffer) >= 2 * self.size:
            self._write(self.size)

    def flush(self) -> None:
        while self._buffer:
            self._write(self.size)

    def _write(self, count: int) -> None:
        self._buffer.sort()
        part, self._buffer = self._buffer[:count], self._buffer[count:]
        chunk = Chunk(self.generation, len(self.chunks), len(part), part[-1][0])
        entries = Entries()
        for exp, tid, effective in part:
            if effective:
                entries.schedule(tid, exp, effective)
            else:
                entries.revoke(tid, exp)
        self.store.write_chunk(chunk.key, encode_chunk(entries))
        self.chunks.append(chunk)
