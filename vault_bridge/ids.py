"""Identifier and text rules: every id is checked here before it becomes part of a Vault path."""

from __future__ import annotations

import re
import unicodedata

from vault_bridge.errors import BadRequest

# Lowercase ASCII letters, digits and inner hyphens, 1-40 characters. fullmatch
# (not match with $) so that a trailing newline is refused too.
ACCOUNT_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
TOKEN_ID = re.compile(r"[0-9a-f]{32}")


def is_account_id(value: object) -> bool:
    """True when ``value`` is a valid user or organization id."""
    return isinstance(value, str) and ACCOUNT_ID.fullmatch(value) is not None


ACCOUNT_ID_RULE = (
    "1-40 lower case letters (a-z), digits and hyphens, starting and ending with a letter or digit"
)


def check_account_id(value: object, what: str = "user id") -> str:
    """Return ``value`` if it is a valid user or organization id, else raise BadRequest."""
    if not isinstance(value, str) or ACCOUNT_ID.fullmatch(value) is None:
        message = f"invalid {what}: use {ACCOUNT_ID_RULE}"
        suggestion = suggest_account_id(value)
        if suggestion:
            message += f"; did you mean {suggestion}?"
        raise BadRequest(message, code="invalid_id")
    return value


def suggest_account_id(value: object) -> str | None:
    """The valid id a mistyped one stands for when it differs only by case or surrounding
    spaces ("Grace " -> "grace"); None otherwise."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    candidate = value.strip().lower()
    return candidate if ACCOUNT_ID.fullmatch(candidate) else None


def is_token_id(value: object) -> bool:
    """True when ``value`` looks like a PAT id (32 lowercase hex digits)."""
    return isinstance(value, str) and TOKEN_ID.fullmatch(value) is not None


def check_token_id(value: object) -> str:
    """Return ``value`` if it is a valid PAT id, else raise BadRequest."""
    if not isinstance(value, str) or TOKEN_ID.fullmatch(value) is None:
        raise BadRequest("invalid token id: expected 32 hexadecimal digits", code="invalid_id")
    return value


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a C0 control character or DEL."""
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


# What a copy and paste brings around a value: whitespace and zero-width characters.
_SURROUNDING = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")


def strip_surrounding(text: str) -> str:
    """``text`` without surrounding whitespace (a trailing newline, a space, a zero-width space)."""
    return _SURROUNDING.sub("", text)


def has_invisible_characters(text: str) -> bool:
    """True when ``text`` holds a control, format or line separator character (tab, newline,
    zero-width space, ...): never part of a credential or a name."""
    return any(unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"} for ch in text)
