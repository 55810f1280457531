"""Audit events: a JSON line per security-relevant action; who, what, which owner, no secret."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.logs import AppendFileHandler, EventFormatter, StderrHandler
from vault_bridge.timeutil import iso, now_utc

log = logging.getLogger(__name__)

# Keys an event may never carry, whatever a caller passes: a guard against slips.
FORBIDDEN_KEYS = frozenset({"token", "password", "secret", "value", "values", "fields_values"})
RequestFields = Callable[[], dict[str, Any]]  # the current request's id, address and caller


class AuditLog:
    """Appends events as JSON lines to a file (``-`` for stderr; empty to disable).

    The file stays open and is reopened when it was moved or deleted (log rotation); a write
    that fails (a full disk) raises ServiceUnavailable, so that the request reports it and
    nothing counts the event as written. Each instance has a
    logger of its own, so that several apps in one process keep separate files. The app sets
    ``request_fields`` so that events written while answering a request say which one and by
    whom (this module knows nothing of Flask: commands write events without importing it).
    """

    def __init__(self, path: str, request_fields: RequestFields | None = None) -> None:
        self.path = path
        self.request_fields = request_fields
        self._logger = logging.Logger("vault_bridge.audit")  # outside the logging tree
        if path:
            handler: logging.Handler = StderrHandler() if path == "-" else AppendFileHandler(path)
            handler.setFormatter(EventFormatter())
            self._logger.addHandler(handler)

    def __repr__(self) -> str:
        return f"AuditLog(path={self.path!r})"

    def record(
        self,
        event: str,
        *,
        actor: str | None,
        target: str | None = None,
        owner: str | None = None,
        outcome: str = "success",
        **details: Any,
    ) -> dict[str, Any]:
        """Write one event and return it."""
        bad = FORBIDDEN_KEYS.intersection(details)
        if bad:
            raise ValueError(f"audit events never carry {sorted(bad)}")
        entry: dict[str, Any] = {
            "time": iso(now_utc()),
            "event": event,
            "outcome": outcome,
            "actor": actor,
            "target": target,
            "owner": owner,
        }
        if self.request_fields is not None:
            entry.update(self.request_fields())
        entry.update(details)
        if self.path:
            try:
                self._logger.info(entry)
            except OSError as exc:  # a full disk, a closed stream: the caller must not go on
                reason = exc.strerror or type(exc).__name__
                log.error("cannot write the audit log %s: %s", self.path, reason)
                raise ServiceUnavailable(
                    f"the audit log cannot be written ({reason.lower()}); try again later",
                    code="audit_unavailable",
                ) from None
        return entry

    def close(self) -> None:
        """Close the file."""
        for handler in self._logger.handlers:
            handler.close()
