"""PAT input rules: scopes, names, expiry; pure functions, no Vault needed."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_bridge.errors import BadRequest
from vault_bridge.tokens.rules import check_name, normalize_scopes, parse_expiry

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["api"], ["api"]),
        (["quantum_tokens", "api"], ["api", "quantum_tokens"]),
        (["API", "api"], ["api"]),
        ("api,quantum_tokens", ["api", "quantum_tokens"]),
        ("api quantum_tokens", ["api", "quantum_tokens"]),
    ],
)
def test_scopes(value: object, expected: list[str]) -> None:
    assert normalize_scopes(value) == expected


@given(st.lists(st.text(max_size=20), max_size=4))
def test_scopes_are_a_non_empty_subset_or_refused(value: list[str]) -> None:
    try:
        result = normalize_scopes(value)
    except BadRequest as exc:
        assert exc.code == "invalid_scopes"
        return
    assert result and set(result) <= {"api", "quantum_tokens"}


@given(st.text(max_size=120))
def test_names(value: str) -> None:
    try:
        name = check_name(value)
    except BadRequest as exc:
        assert exc.code == "invalid_name"
        return
    assert 1 <= len(name) <= 100 and name == name.strip()
    assert all(ord(ch) >= 32 and ord(ch) != 127 for ch in name)


def test_expiry_rules() -> None:
    assert parse_expiry(None, NOW, 30, 366) == NOW + dt.timedelta(days=30)
    assert parse_expiry("2026-06-15", NOW, 30, 366) == dt.datetime(2026, 6, 16, tzinfo=dt.UTC)
    assert parse_expiry("2026-07-01T00:00:00Z", NOW, 30, 366) == dt.datetime(
        2026, 7, 1, tzinfo=dt.UTC
    )
    assert parse_expiry("2026-07-01T02:00:00+02:00", NOW, 30, 366) == dt.datetime(
        2026, 7, 1, tzinfo=dt.UTC
    )
    for bad in ("2026-06-14", "2026-06-15T11:59:59Z", "2027-06-17", "soon", "", 5, "2026-02-30"):
        with pytest.raises(BadRequest):
            parse_expiry(bad, NOW, 30, 366)


@given(st.integers(min_value=-400, max_value=800))
def test_expiry_is_future_and_within_the_maximum(days: int) -> None:
    value = (NOW.date() + dt.timedelta(days=days)).isoformat()
    try:
        moment = parse_expiry(value, NOW, 30, 366)
    except BadRequest:
        assert days < 0 or days > 366
        return
    assert NOW < moment <= NOW + dt.timedelta(days=367)
