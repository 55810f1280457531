"""How the app reads and writes JSON: bodies that are too deep, hold lone surrogates or
non-finite numbers are not JSON we accept (a 400, never a 500 from a recursion or an encoder)."""

from __future__ import annotations

import json
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 32


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("numbers must be finite")
    return value


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def check_shape(value: Any) -> None:
    """Raise ValueError when ``value`` nests deeper than MAX_DEPTH or holds a lone surrogate."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"JSON nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("JSON strings must be valid Unicode") from None
        elif isinstance(item, dict):
            stack.extend((key, depth + 1) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, keeping key order, refusing what could not round-trip safely."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a body; ValueError (a 400 for the caller) for anything we will not take."""
        try:
            value = json.loads(s, parse_float=_finite, parse_constant=_no_constants, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        check_shape(value)
        return value
