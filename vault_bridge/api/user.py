"""The caller's account and personal access tokens: ``/api/v1/user``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from vault_bridge.api.auth import authenticate, require, services
from vault_bridge.api.body import json_body
from vault_bridge.ids import check_token_id
from vault_bridge.timeutil import from_unix, iso

bp = Blueprint("user", __name__, url_prefix="/api/v1/user")


@bp.get("")
@require()
def get_user() -> Response:
    """The caller's profile, organizations, and the token used (if any)."""
    principal = authenticate()
    token = None
    if principal.token is not None:
        token = {
            "id": principal.token.token_id,
            "scopes": sorted(principal.token.scopes),
            "expires_at": iso(from_unix(principal.token.expires_at)),
        }
    organizations = services().orgs.list_for(principal.user)
    return jsonify(
        {
            **principal.user.as_dict(),
            "organizations": organizations,
            "context": principal.org,
            "token": token,
        }
    )


@bp.post("/personal-access-tokens")
@require(scopes=(), session_only=True)
def create_token() -> tuple[Response, int]:
    """Create a PAT; the value is in this response and nowhere else, ever."""
    body = json_body()
    principal = authenticate()
    record, token = services().tokens.issue(
        principal.user.id, body.get("name"), body.get("scopes"), body.get("expires_at")
    )
    payload = {key: record[key] for key in ("id", "name", "scopes", "created_at", "expires_at")}
    response = jsonify({**payload, "token": token})
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get("/personal-access-tokens")
@require()
def list_tokens() -> Response:
    """The caller's tokens, without values."""
    return jsonify(services().tokens.list(authenticate().user.id))


@bp.delete("/personal-access-tokens/<token_id>")
@require()
def revoke_token(token_id: str) -> tuple[str, int]:
    """Revoke one of the caller's tokens (a PAT may revoke itself)."""
    check_token_id(token_id)
    user = authenticate().user
    services().tokens.revoke(user.id, token_id, actor=user.id)
    return "", 204
