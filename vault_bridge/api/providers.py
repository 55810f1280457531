"""The provider catalog and provider access tokens of users and organizations (write-only)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from vault_bridge.api.auth import authenticate, require, services
from vault_bridge.errors import BadRequest

bp = Blueprint("providers", __name__, url_prefix="/api/v1")
WRITERS = ("owner", "maintainer")


@bp.get("/providers")
@require()
def catalog() -> Response:
    """Every provider and the fields of its credential."""
    return jsonify(services().catalog.as_list())


def _fields() -> dict:
    if not request.is_json:
        raise BadRequest("send the fields as a JSON object", code="invalid_json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object of fields", code="invalid_json")
    return body


def _answer(described: dict, created: bool) -> tuple[Response, int]:
    response = jsonify(described)
    response.headers["Cache-Control"] = "no-store"
    return response, 201 if created else 200


@bp.get("/user/provider-access-tokens")
@require()
def list_user_tokens() -> Response:
    """Metadata of the caller's provider tokens."""
    return jsonify(services().providers.list("users", authenticate().user.id))


@bp.get("/user/provider-access-tokens/<provider>")
@require()
def get_user_token(provider: str) -> Response:
    """Metadata of one of the caller's provider tokens."""
    return jsonify(services().providers.get("users", authenticate().user.id, provider))


@bp.put("/user/provider-access-tokens/<provider>")
@require()
def put_user_token(provider: str) -> tuple[Response, int]:
    """Set or replace one of the caller's provider tokens; answers metadata only."""
    user = authenticate().user
    described, created = services().providers.put("users", user.id, provider, _fields(), user.id)
    return _answer(described, created)


@bp.delete("/user/provider-access-tokens/<provider>")
@require()
def delete_user_token(provider: str) -> tuple[str, int]:
    """Delete one of the caller's provider tokens with all its versions."""
    user = authenticate().user
    services().providers.delete("users", user.id, provider, actor=user.id)
    return "", 204


@bp.get("/orgs/<org>/provider-access-tokens")
@require()
def list_org_tokens(org: str) -> Response:
    """Metadata of the organization's provider tokens (members)."""
    services().orgs.for_member(authenticate().user, org)
    return jsonify(services().providers.list("orgs", org))


@bp.get("/orgs/<org>/provider-access-tokens/<provider>")
@require()
def get_org_token(org: str, provider: str) -> Response:
    """Metadata of one of the organization's provider tokens (members)."""
    services().orgs.for_member(authenticate().user, org)
    return jsonify(services().providers.get("orgs", org, provider))


@bp.put("/orgs/<org>/provider-access-tokens/<provider>")
@require()
def put_org_token(org: str, provider: str) -> tuple[Response, int]:
    """Set or replace an organization's provider token (owners and maintainers)."""
    user = authenticate().user
    services().orgs.require_role(user, org, *WRITERS)
    described, created = services().providers.put("orgs", org, provider, _fields(), user.id)
    return _answer(described, created)


@bp.delete("/orgs/<org>/provider-access-tokens/<provider>")
@require()
def delete_org_token(org: str, provider: str) -> tuple[str, int]:
    """Delete an organization's provider token (owners and maintainers)."""
    user = authenticate().user
    services().orgs.require_role(user, org, *WRITERS)
    services().providers.delete("orgs", org, provider, actor=user.id)
    return "", 204
