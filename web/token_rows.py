"""How the PAT pages show tokens: the last day a token works, its rows, search, sort, notices.

The API keeps the exact instant a token stops (``expires_at``); a person picks a day ("valid
through 31 Jan 2027"), so the pages show that day: the day of the last second the token works.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from vault_bridge.timeutil import iso, parse_iso

SOON_DAYS = 7  # "expires soon" and the notice above the table
SORTS = {
    "created": ("created_at", True),
    "name": ("name", False),
    "expires": ("expires_at", False),
    "last_used": ("last_used_at", True),
}


def _moment(value: str | dt.datetime) -> dt.datetime:
    return parse_iso(value) if isinstance(value, str) else value


def last_day(expires_at: str | dt.datetime) -> dt.date:
    """The last day (UTC) on which a token still works."""
    return (_moment(expires_at) - dt.timedelta(seconds=1)).date()


def format_day(day: dt.date) -> str:
    """``2027-01-31`` → ``31 Jan 2027``."""
    return f"{day.day} {day:%b %Y}"


def format_moment(value: str | dt.datetime | None) -> str:
    """``2026-11-27T14:03:09Z`` → ``27 Nov 2026, 14:03 UTC``."""
    if not value:
        return ""
    moment = _moment(value).astimezone(dt.UTC)
    return f"{format_day(moment.date())}, {moment:%H:%M} UTC"


def format_expiry(expires_at: str | dt.datetime | None) -> str:
    """When a token stops, as a person chose it: ``after 31 Jan 2027`` for a token that works
    through that day, else the day and time."""
    if not expires_at:
        return ""
    moment = _moment(expires_at).astimezone(dt.UTC)
    if moment.time() == dt.time():
        return f"after {format_day(last_day(moment))}"
    return f"on {format_moment(moment)}"


def restriction(token: dict[str, Any]) -> list[str]:
    """Where a token may act, as short labels."""
    places = ["personal"] if token.get("personal", True) else []
    orgs = token.get("organizations")
    if orgs is None:
        return [*places, "all organizations"]
    return [*places, *orgs]


def rows(tokens: Iterable[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    """Tokens with what the table needs: the days left, and where each may act."""
    answers = []
    for token in tokens:
        days_left = (last_day(token["expires_at"]) - today).days
        answers.append(
            {
                **token,
                "soon": token.get("state") == "active" and days_left <= SOON_DAYS,
                "places": restriction(token),
            }
        )
    return answers


def select(
    tokens: Sequence[dict[str, Any]], text: str, scope: str, sort: str
) -> list[dict[str, Any]]:
    """The tokens matching ``text`` (name or description) and ``scope``, in ``sort`` order."""
    needle = text.strip().casefold()
    chosen = [
        token
        for token in tokens
        if (
            not needle
            or needle in token["name"].casefold()
            or needle in (token.get("description") or "").casefold()
        )
        and (not scope or scope in token["scopes"])
    ]
    key, newest_first = SORTS.get(sort, SORTS["created"])
    return sorted(chosen, key=lambda t: str(t.get(key) or "").casefold(), reverse=newest_first)


def expiring_notice(tokens: Iterable[dict[str, Any]]) -> str:
    """``2 tokens expire within 7 days`` (empty when none does)."""
    count = sum(1 for token in tokens if token.get("soon"))
    if not count:
        return ""
    noun = "token expires" if count == 1 else "tokens expire"
    return f"{count} {noun} within {SOON_DAYS} days"


NOTICE_DAYS = 14  # security notices shown on the tokens page
NOTICE_MAX = 5


def recent_notices(notices: Iterable[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """The security notices of the last NOTICE_DAYS days, newest first, at most NOTICE_MAX."""
    cutoff = iso(now - dt.timedelta(days=NOTICE_DAYS)) or ""
    return [n for n in notices if str(n.get("at") or "") >= cutoff][:NOTICE_MAX]
