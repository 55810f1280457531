"""Request body helpers."""

from __future__ import annotations

from typing import Any

from flask import request

from vault_bridge.errors import BadRequest


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong."""
    if not request.is_json:
        raise BadRequest(
            "send a JSON object with Content-Type: application/json", code="invalid_json"
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", code="invalid_json")
    return body
