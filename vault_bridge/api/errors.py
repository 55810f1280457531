"""Every error becomes ``{"error": {"code", "message"}}``: the right status, no trace, no secret."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException

from vault_bridge.errors import VaultBridgeError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The JSON error body."""
    return jsonify({"error": {"code": code, "message": message}}), status


def http_error_response(exc: HTTPException) -> tuple[Response, int]:
    """A werkzeug HTTP error (404, 405, ...) as the JSON error body."""
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, exc.description or exc.name)


def register(app: Flask) -> None:
    """Install the error handlers."""

    @app.errorhandler(VaultBridgeError)
    def domain_error(exc: VaultBridgeError) -> tuple[Response, int]:
        if exc.status >= 500:
            log.warning("%s: %s", exc.code, exc.message)
        response, status = error_response(exc.status, exc.code, exc.message)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="vault-bridge"'
        return response, status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        return http_error_response(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        # The type only: exception texts may quote input, and input may hold a secret.
        log.error(
            "unhandled %s", type(exc).__name__, exc_info=current_app.debug or current_app.testing
        )
        return error_response(500, "internal_error", "internal error")
