"""Public revocation of leaked PATs by value: anyone may report tokens (a secret scanner, a
finder); each one whose signature verifies is revoked and its owner told.

The answer must never say which tokens were real. So the request only checks the body's shape,
the reporter's rate and the queue's room (none of which depend on the tokens) and queues the
report; a thread of its own verifies signatures and revokes, a few milliseconds later. The time
the request takes is therefore the same whatever the tokens were.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vault_bridge.audit import AuditLog
from vault_bridge.directory.throttle import Limits, LoginThrottle
from vault_bridge.errors import TooManyRequests, Unauthenticated, VaultBridgeError
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.revocation import Revoker
from vault_bridge.tokens.verify import LEEWAY_SECONDS, VerifiedToken, Verifier
from vault_bridge.tokens.worker import Worker

log = logging.getLogger(__name__)

REPORT_MAX = 1000  # tokens per report
QUEUE_MAX = 64  # reports waiting, per process
ATTEMPTS = 3  # tries of a report's revocation while Vault is unavailable
WINDOW = 60.0

Notify = Callable[[str, Sequence[VerifiedToken]], None]


@dataclass(frozen=True)
class Report:
    """Tokens reported by one request (the values stay in memory only until processed)."""

    tokens: tuple[str, ...]
    address: str
    request_id: str | None

    def __repr__(self) -> str:
        return f"Report(tokens={len(self.tokens)}, address={self.address!r})"


class PublicRevocations:
    """Takes reports (rate-limited per client address) and revokes in the background."""

    def __init__(
        self,
        revoker: Revoker,
        verifier: Verifier,
        denylist: Denylist,
        audit: AuditLog,
        per_minute: int,
        notify: Notify | None = None,
    ) -> None:
        self.revoker = revoker
        self.verifier = verifier
        self.denylist = denylist
        self.audit = audit
        self.per_minute = per_minute
        self.notify = notify
        self.throttle = LoginThrottle(Limits(window=WINDOW))
        self._worker: Worker[Report] = Worker("vault-bridge-reports", self.process, QUEUE_MAX)

    def submit(self, tokens: Sequence[str], address: str, request_id: str | None = None) -> int:
        """Queue a report; 429 over the address's rate or while the queue is full. Returns how
        many tokens were accepted (all of them)."""
        key = f"report:{address}"
        self.throttle.check_key(key, self.per_minute, "revocation reports")
        if not self._worker.put(Report(tuple(tokens), address, request_id)):
            raise TooManyRequests(
                "too many revocation reports waiting; try again shortly",
                code="too_many_requests",
                retry_after=5,
            )
        self.throttle.count(key)
        return len(tokens)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued report is processed; False on timeout."""
        return self._worker.drain(timeout)

    def close(self) -> None:
        """Process what is queued, then stop the thread."""
        self._worker.close()

    def process(self, report: Report) -> list[VerifiedToken]:
        """Revoke the report's tokens that verify and still work; tell their owners."""
        found = self._verified(report.tokens)
        for attempt in range(ATTEMPTS):
            try:
                self.revoker.revoke_verified(
                    found.values(),
                    "public",
                    "public_report",
                    address=report.address,
                    request_id=report.request_id,
                )
                break
            except VaultBridgeError as exc:
                if attempt == ATTEMPTS - 1:
                    log.warning("a revocation report could not be stored: %s", exc.message)
                    raise
                time.sleep(attempt + 1)
        self.audit.record(
            "pat.report",
            actor="public",
            address=report.address,
            request_id=report.request_id,
            reported=len(report.tokens),
            revoked=len(found),
        )
        if self.notify is not None:
            by_user: dict[str, list[VerifiedToken]] = {}
            for verified in found.values():
                by_user.setdefault(verified.user, []).append(verified)
            for user, tokens in by_user.items():
                self.notify(user, tokens)
        return list(found.values())

    def _verified(self, tokens: Sequence[str]) -> dict[str, VerifiedToken]:
        """The reported tokens whose signatures verify, not expired, not revoked yet."""
        now = time.time()
        found: dict[str, VerifiedToken] = {}
        for token in tokens:
            try:
                verified = self.verifier.check_signature(token.strip(), allow_expired=True)
            except Unauthenticated:
                continue
            if verified.expires_at + LEEWAY_SECONDS <= now:
                continue  # it works nowhere already
            if self.denylist.is_revoked(verified.token_id):
                continue
            found[verified.token_id] = verified
        return found
