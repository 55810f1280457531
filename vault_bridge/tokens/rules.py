"""Input rules of a personal access token: its name, its scopes and its expiry."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection

from vault_bridge import scopes
from vault_bridge.errors import BadRequest
from vault_bridge.ids import has_control_characters, is_account_id
from vault_bridge.timeutil import parse_iso

NAME_MAX = 100
DESCRIPTION_MAX = 255
ORGANIZATIONS_MAX = 50
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def normalize_scopes(value: object) -> list[str]:
    """A non-empty subset of the registered scopes, in registry order; accepts PLANQK's
    upper-case spelling and a comma- or space-separated string."""
    if isinstance(value, str):
        value = [part for part in re.split(r"[\s,]+", value) if part]
    if not isinstance(value, list) or not value:
        raise BadRequest(
            f"scopes must be a non-empty list of: {scopes.listing()}", code="invalid_scopes"
        )
    wanted = set()
    for scope in value:
        if not isinstance(scope, str) or scope.lower() not in scopes.NAMES:
            raise BadRequest(
                f"unknown scope; allowed scopes are: {scopes.listing()}", code="invalid_scopes"
            )
        wanted.add(scope.lower())
    return [scope for scope in scopes.NAMES if scope in wanted]


def check_name(value: object) -> str:
    """A token name: 1-100 characters, no control characters, surrounding spaces trimmed."""
    if not isinstance(value, str) or not value.strip():
        raise BadRequest("name is required (1-100 characters)", code="invalid_name")
    name = value.strip()
    if len(name) > NAME_MAX:
        raise BadRequest("name must be at most 100 characters", code="invalid_name")
    if has_control_characters(name):
        raise BadRequest("name must not contain control characters", code="invalid_name")
    return name


def check_description(value: object) -> str | None:
    """An optional description: at most 255 characters, no control characters; blank is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(
            "description must be text", code="invalid_description", field="description"
        )
    text = value.strip()
    if len(text) > DESCRIPTION_MAX:
        raise BadRequest(
            f"description must be at most {DESCRIPTION_MAX} characters",
            code="invalid_description",
            field="description",
        )
    if has_control_characters(text):
        raise BadRequest(
            "description must not contain control characters",
            code="invalid_description",
            field="description",
        )
    return text or None


def check_restriction(
    organizations: object, personal: object, memberships: Collection[str]
) -> tuple[list[str] | None, bool]:
    """Where a new token may act: the organizations (None: every one of the user's, at request
    time) and whether outside any organization. Each named organization must be one of
    ``memberships``; a token must be able to act somewhere."""
    if not isinstance(personal, bool):
        raise BadRequest(
            "personal must be true or false", code="invalid_personal", field="personal"
        )
    if organizations is None:
        return None, personal
    if not isinstance(organizations, list) or len(organizations) > ORGANIZATIONS_MAX:
        raise BadRequest(
            f"organizations must be a list of at most {ORGANIZATIONS_MAX} organization ids",
            code="invalid_organizations",
            field="organizations",
        )
    chosen: list[str] = []
    for org in organizations:
        if not is_account_id(org):
            raise BadRequest(
                "organizations must hold organization ids",
                code="invalid_organizations",
                field="organizations",
            )
        if org not in memberships:
            raise BadRequest(
                f"you are not a member of organization {org}",
                code="invalid_organizations",
                field="organizations",
            )
        if org not in chosen:
            chosen.append(org)
    if not chosen and not personal:
        raise BadRequest(
            "a token restricted to no organization must allow personal use",
            code="invalid_organizations",
            field="organizations",
        )
    return sorted(chosen), personal


def parse_expiry(value: object, now: dt.datetime, default_days: int, max_days: int) -> dt.datetime:
    """The expiry of a new token: a date (valid through that day, UTC) or a date-time."""
    if value is None:
        return now + dt.timedelta(days=default_days)
    if not isinstance(value, str):
        raise BadRequest("expires_at must be an ISO 8601 date", code="invalid_expires_at")
    date_only = _DATE_ONLY.fullmatch(value) is not None
    too_late = BadRequest(
        f"expires_at must be at most {max_days} days from now", code="invalid_expires_at"
    )
    try:
        if date_only:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(days=1)
        else:
            moment = parse_iso(value)
    except OverflowError:
        raise too_late from None  # the day after 9999-12-31 does not exist: far too late anyway
    except ValueError:
        raise BadRequest("expires_at must be an ISO 8601 date", code="invalid_expires_at") from None
    if moment <= now:
        raise BadRequest("expires_at must be in the future", code="invalid_expires_at")
    latest = now + dt.timedelta(days=max_days)
    if moment > latest + dt.timedelta(days=1 if date_only else 0):
        raise too_late
    return moment.replace(microsecond=0)
