"""Where security notices live: ``users/<user>/notices`` (a document with one marker per event,
changed with check-and-set, so an event is claimed by exactly one replica) and
``config/reminder-scan`` (which replica scans for expiry reminders in an interval)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from vault_bridge.errors import Conflict
from vault_bridge.ids import is_account_id
from vault_bridge.vault.documents import Document, Documents
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import REMINDER_SCAN_PATH, notices_path

T = TypeVar("T")
Events = dict[str, dict[str, Any]]


class NoticeStore:
    """Read and change users' notice documents; claim reminder scans."""

    def __init__(self, kv: KV, scan_path: str = REMINDER_SCAN_PATH) -> None:
        self.kv = kv
        self.documents = Documents(kv)
        self.scan_path = scan_path

    def read(self, user: str) -> Events:
        """A user's events by id (empty without any)."""
        document = self.documents.read(notices_path(user))
        return _events(document)

    def update(
        self,
        user: str,
        change: Callable[[Events], tuple[bool, T]],
        shrink: Callable[[Events], Events | None],
    ) -> T:
        """Change a user's events with check-and-set (``change`` edits in place and says
        whether it changed anything)."""

        def apply(document: Document | None) -> tuple[Any, T]:
            events = _events(document)
            changed, result = change(events)
            return ({"events": events} if changed else None), result

        def smaller(value: Any) -> Any:
            events = shrink(value["events"])
            return None if events is None else {"events": events}

        return self.documents.update(notices_path(user), apply, shrink=smaller)

    def users(self) -> list[str]:
        """Every user with a folder under the mount (those who ever had a PAT among them)."""
        return [
            name.rstrip("/") for name in self.kv.list("users") if is_account_id(name.rstrip("/"))
        ]

    def claim_scan(self, now: float, interval: float) -> bool:
        """True for the one replica that starts the scan of this interval (check-and-set)."""

        def apply(document: Document | None) -> tuple[Any, bool]:
            last = float(document.value.get("started", 0)) if document else 0.0
            if now - last < interval * 0.9:
                return None, False
            return {"started": now}, True

        try:
            return self.documents.update(self.scan_path, apply, attempts=1)
        except Conflict:  # another replica claimed it at the same moment
            return False

    def forget(self, user: str) -> None:
        """Delete a user's notices (the account is being deleted)."""
        self.documents.delete(notices_path(user))


def _events(document: Document | None) -> Events:
    if document is None or not isinstance(document.value, dict):
        return {}
    events = document.value.get("events")
    return dict(events) if isinstance(events, dict) else {}
