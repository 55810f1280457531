"""Identifier rules, checked with examples and with hypothesis."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_bridge.errors import BadRequest
from vault_bridge.ids import (
    check_account_id,
    check_token_id,
    is_account_id,
    is_token_id,
    suggest_account_id,
)

RULE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


@pytest.mark.parametrize("value", ["a", "0", "ada", "ada-lovelace", "a" * 40, "a-b-c", "9lives"])
def test_valid_ids(value: str) -> None:
    assert check_account_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-a",
        "a-",
        "A",
        "ada_l",
        "a" * 41,
        "..",
        "a/b",
        "a%2fb",
        "%2e%2e",
        "a\nb",
        "a\n",
        "ａｄａ",
        "аda",
        "a\u200bb",
        "a\x00",
        " a",
        "a ",
        None,
        5,
        ["a"],
        "ada.lovelace",
    ],
)
def test_invalid_ids(value: object) -> None:
    assert not is_account_id(value)
    with pytest.raises(BadRequest) as info:
        check_account_id(value)
    assert info.value.code == "invalid_id"
    assert info.value.status == 400


@given(st.text(max_size=60))
def test_account_id_rule_matches_the_spec_exactly(value: str) -> None:
    # re.$ would also accept a trailing newline; the rule means the whole string
    expected = RULE.match(value) is not None and not value.endswith("\n")
    assert is_account_id(value) == expected


@given(st.text(max_size=60))
def test_accepted_ids_are_safe_path_segments(value: str) -> None:
    if is_account_id(value):
        assert "/" not in value and ".." not in value and "%" not in value
        assert value.isascii() and value == value.strip() and value.isprintable()


@given(st.text(alphabet="0123456789abcdefABCDEF/.-", max_size=40))
def test_token_ids(value: str) -> None:
    assert is_token_id(value) == (re.fullmatch(r"[0-9a-f]{32}", value) is not None)
    if not is_token_id(value):
        with pytest.raises(BadRequest):
            check_token_id(value)


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [("Grace", "grace"), ("ADA-L", "ada-l"), (" grace ", "grace"), ("Gr@ce", None), ("-x", None)],
)
def test_a_refused_id_says_the_rule_and_offers_the_lower_cased_name(
    value: str, suggestion: str | None
) -> None:
    with pytest.raises(BadRequest) as info:
        check_account_id(value)
    message = info.value.message
    assert "lower case letters (a-z), digits and hyphens" in message
    assert "starting and ending with a letter or digit" in message
    if suggestion:
        assert message.endswith(f"; did you mean {suggestion}?")
    else:
        assert "did you mean" not in message


@given(st.text(max_size=60))
def test_a_suggested_id_is_valid_and_only_changes_case_and_spaces(value: str) -> None:
    suggestion = suggest_account_id(value)
    if suggestion is not None:
        assert is_account_id(suggestion) and suggestion == value.strip().lower()
