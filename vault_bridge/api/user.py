"""The caller's account and personal access tokens: ``/api/v1/user``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, session

from vault_bridge.api.models import (
    ChangePassword,
    CreatedToken,
    CreateToken,
    Me,
    NoticeList,
    RotateToken,
    TokenList,
    TokenListQuery,
)
from vault_bridge.api.routes import api_operation
from vault_bridge.api.spec import SESSION_CHANGE, body, query
from vault_bridge.auth import current_principal, require
from vault_bridge.ids import check_token_id
from vault_bridge.services import current_services
from vault_bridge.timeutil import from_unix, iso
from vault_bridge.tokens.service import PatRecord

bp = Blueprint("user", __name__, url_prefix="/api/v1/user")


@bp.get("")
@require()
@api_operation("user", {200: Me})
def get_user() -> Response:
    """The caller's profile, organizations, and the token used (if any)."""
    principal = current_principal()
    token = None
    if principal.token is not None:
        token = {
            "id": principal.token.token_id,
            "scopes": sorted(principal.token.scopes),
            "expires_at": iso(from_unix(principal.token.expires_at)),
        }
    organizations = current_services().orgs.list_for(principal.user)
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
@api_operation(
    "personal access tokens",
    {201: CreatedToken},
    json=CreateToken,
    change=True,
    security=SESSION_CHANGE,
)
def create_token() -> tuple[Response, int]:
    """Create a PAT; the value is in this response and nowhere else, ever."""
    wanted = body(CreateToken)
    user = current_principal().user
    record, token = current_services().tokens.issue(
        user.id,
        wanted.name,
        wanted.scopes,
        wanted.expires_at,
        description=wanted.description,
        organizations=wanted.organizations,
        personal=wanted.personal,
        memberships=user.memberships,
    )
    return created(record, token)


def created(record: PatRecord, token: str) -> tuple[Response, int]:
    """The 201 answer of a new PAT: its value, this once, never cached."""
    response = jsonify(
        {
            "id": record["id"],
            "name": record["name"],
            "description": record["description"],
            "scopes": record["scopes"],
            "created_at": record["created_at"],
            "expires_at": record["expires_at"],
            "organizations": record["organizations"],
            "personal": record["personal"],
            "token": token,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get("/personal-access-tokens")
@require()
@api_operation("personal access tokens", {200: TokenList}, query=TokenListQuery)
def list_tokens() -> Response:
    """The caller's tokens, without values: active ones, or those expired or revoked in the last
    30 days (``state=inactive``), or both (``state=all``)."""
    wanted = query(TokenListQuery)
    return jsonify(list(current_services().tokens.list(current_principal().user.id, wanted.state)))


@bp.post("/personal-access-tokens/<token_id>/rotate")
@require(scopes=(), session_only=True)
@api_operation(
    "personal access tokens",
    {201: CreatedToken},
    json=RotateToken,
    change=True,
    security=SESSION_CHANGE,
)
def rotate_token(token_id: str) -> tuple[Response, int]:
    """Replace a token by a new one with the same name, scopes, restrictions and lifetime
    length; the old one stops at the end of ``grace_seconds`` on every replica."""
    check_token_id(token_id)
    wanted = body(RotateToken)
    user = current_principal().user
    record, token = current_services().tokens.rotate(user.id, token_id, wanted.grace_seconds)
    return created(record, token)


@bp.delete("/personal-access-tokens/<token_id>")
@require()
@api_operation("personal access tokens", {204: None}, change=True)
def revoke_token(token_id: str) -> tuple[str, int]:
    """Revoke one of the caller's tokens (a PAT may revoke itself)."""
    check_token_id(token_id)
    user = current_principal().user
    current_services().tokens.revoke(user.id, token_id, actor=user.id)
    return "", 204


@bp.get("/notices")
@require()
@api_operation("user", {200: NoticeList})
def list_notices() -> Response:
    """Recent security notices about the caller's PATs (created, revoked after a public report,
    expiring in 7 days or 1 day), newest first; kept 40 days."""
    return jsonify(current_services().tokens.notices(current_principal().user.id))


@bp.put("/password")
@require(scopes=(), session_only=True)
@api_operation(
    "user",
    {204: None},
    json=ChangePassword,
    change=True,
    security=SESSION_CHANGE,
    errors=(400, 401, 403, 429, 503),
)
def change_password() -> tuple[str, int]:
    """Change the caller's password; every other session of the account ends, on every
    replica (this one stays signed in)."""
    wanted = body(ChangePassword)
    current_services().accounts.change_password(
        current_principal().user,
        wanted.current_password,
        wanted.new_password,
        keep_session=str(session.get("sid") or ""),
    )
    return "", 204
