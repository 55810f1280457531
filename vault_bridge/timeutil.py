"""UTC timestamps as the API writes them: ISO 8601 with a Z."""

from __future__ import annotations

import datetime as dt


def now_utc() -> dt.datetime:
    """The current time, timezone-aware, whole seconds."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime | None) -> str | None:
    """Format a moment as ``2026-01-31T12:00:00Z``."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def from_unix(seconds: float | None) -> dt.datetime | None:
    """A unix time as an aware datetime."""
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def parse_iso(text: str) -> dt.datetime:
    """Parse an ISO 8601 date-time (``Z`` or an offset; naive means UTC)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
