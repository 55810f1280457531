"""Password sign-in for the API and the browser: ``/api/v1/session``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, session

from vault_bridge.api.auth import require, services, start_session
from vault_bridge.api.body import json_body
from vault_bridge.errors import Unauthenticated
from vault_bridge.ids import is_account_id

bp = Blueprint("session", __name__, url_prefix="/api/v1/session")


@bp.post("")
def login() -> tuple[Response, int]:
    """Check the password with Vault and start a session."""
    body = json_body()
    svc = services()
    username = body.get("username")
    try:
        user = svc.directory.authenticate(username, body.get("password"))
    except Unauthenticated:
        shown = username if is_account_id(username) else "(invalid)"
        svc.audit.record("login", actor=shown, outcome="failure", method="password")
        raise
    csrf = start_session(user)
    svc.audit.record("login", actor=user.id, method="password")
    return jsonify({"user": user.as_dict(), "csrf_token": csrf}), 200


@bp.delete("")
@require(scopes=(), session_only=True)
def logout() -> tuple[str, int]:
    """End the session."""
    session.clear()
    return "", 204
