"""Audit events: a JSON line per security-relevant action; who, what, which owner, no secret."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from flask import g, has_request_context, request

from vault_bridge.timeutil import iso, now_utc

# Keys an event may never carry, whatever a caller passes: a guard against slips.
FORBIDDEN_KEYS = frozenset({"token", "password", "secret", "value", "values", "fields_values"})


class AuditLog:
    """Appends events to a file (``-`` for stderr; empty to disable)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

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
        if has_request_context():
            entry["request_id"] = g.get("request_id")
            entry["source_ip"] = request.remote_addr
            principal = g.get("principal")
            if principal is not None:
                entry["via"] = principal.via
                entry["context"] = principal.org
        entry.update(details)
        line = json.dumps(entry, separators=(",", ":"), default=str)
        if not self.path:
            return entry
        with self._lock:
            if self.path == "-":
                print(line, file=sys.stderr, flush=True)
            else:
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        return entry
