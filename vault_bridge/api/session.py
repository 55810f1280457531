"""Password sign-in for the API and the browser: ``/api/v1/session``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from vault_bridge.api.models import Error, Login, LoginAnswer
from vault_bridge.api.spec import PUBLIC, SESSION_CHANGE, body, operation
from vault_bridge.auth import require
from vault_bridge.auth.session import end_session, start_session
from vault_bridge.services import current_services

bp = Blueprint("session", __name__, url_prefix="/api/v1/session")


@bp.post("")
@operation(
    ok={200: LoginAnswer},
    errors=(400, 401, 429, 503),
    error_model=Error,
    security=PUBLIC,
    tags=("session",),
    json=Login,
)
def login() -> tuple[Response, int]:
    """Check the password with Vault and start a session."""
    credentials = body(Login)
    services = current_services()
    user = services.accounts.sign_in(
        credentials.username, credentials.password, request.remote_addr
    )
    csrf = start_session(user, services.sessions, request.remote_addr)
    return jsonify({"user": user.as_dict(), "csrf_token": csrf}), 200


@bp.delete("")
@require(scopes=(), session_only=True)
@operation(
    ok={204: None},
    errors=(400, 401, 403, 503),
    error_model=Error,
    security=SESSION_CHANGE,
    tags=("session",),
)
def logout() -> tuple[str, int]:
    """End the session on every replica: its record in Vault goes before the answer."""
    end_session(current_services().sessions)
    return "", 204
