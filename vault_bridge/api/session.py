"""Password sign-in for the API and the browser: ``/api/v1/session``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, session

from vault_bridge.api.auth import require, services, start_session
from vault_bridge.api.body import json_body

bp = Blueprint("session", __name__, url_prefix="/api/v1/session")


@bp.post("")
def login() -> tuple[Response, int]:
    """Check the password with Vault and start a session."""
    body = json_body()
    svc = services()
    user = svc.sign_in(body.get("username"), body.get("password"), request.remote_addr)
    csrf = start_session(user)
    return jsonify({"user": user.as_dict(), "csrf_token": csrf}), 200


@bp.delete("")
@require(scopes=(), session_only=True)
def logout() -> tuple[str, int]:
    """End the session."""
    session.clear()
    return "", 204
