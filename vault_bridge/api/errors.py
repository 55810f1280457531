"""Every error becomes ``{"error": {"code", "message"}}`` (plus ``field`` where a field is at
fault): the right status, no trace, no secret."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException

from vault_bridge.errors import VaultBridgeError, error_headers

log = logging.getLogger(__name__)


def error_response(
    status: int, code: str, message: str, field: str | None = None
) -> tuple[Response, int]:
    """The JSON error body."""
    detail = {"code": code, "message": message}
    if field is not None:
        detail["field"] = field
    return jsonify({"error": detail}), status


def http_error_response(exc: HTTPException) -> tuple[Response, int]:
    """A werkzeug HTTP error (404, 405, ...) as the JSON error body."""
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, exc.description or exc.name)


def domain_error_response(exc: VaultBridgeError) -> tuple[Response, int]:
    """A domain error as the JSON error body (401s say how to authenticate)."""
    if exc.status >= 500:
        log.warning("%s: %s", exc.code, exc.message)
    response, status = error_response(exc.status, exc.code, exc.message, exc.field)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vault-bridge"'
    response.headers.update(error_headers(exc))
    return response, status


def register(app: Flask) -> None:
    """Install the error handlers."""
    app.register_error_handler(VaultBridgeError, domain_error_response)
    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        # The type only: exception texts may quote input, and input may hold a secret.
        log.error(
            "unhandled %s", type(exc).__name__, exc_info=current_app.debug or current_app.testing
        )
        return error_response(500, "internal_error", "internal error")
