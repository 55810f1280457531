"""The provider catalog and provider access tokens of users and organizations (write-only)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from vault_bridge.api.models import Catalog, ProviderFields, ProviderToken, ProviderTokenList
from vault_bridge.api.routes import api_operation
from vault_bridge.api.spec import body
from vault_bridge.auth import current_principal, require
from vault_bridge.providers.store import TokenMetadata
from vault_bridge.services import current_services

bp = Blueprint("providers", __name__, url_prefix="/api/v1")
TAG = "provider access tokens"
WRITERS = ("owner", "maintainer")


def _answer(described: TokenMetadata, created: bool) -> tuple[Response, int]:
    response = jsonify(described)
    response.headers["Cache-Control"] = "no-store"
    return response, 201 if created else 200


@bp.get("/providers")
@require()
@api_operation("providers", {200: Catalog})
def catalog() -> Response:
    """Every provider and the fields of its credential."""
    return jsonify(current_services().catalog.as_list())


@bp.get("/user/provider-access-tokens")
@require()
@api_operation(TAG, {200: ProviderTokenList})
def list_user_tokens() -> Response:
    """Metadata of the caller's provider tokens."""
    return jsonify(current_services().providers.list("users", current_principal().user.id))


@bp.get("/user/provider-access-tokens/<provider>")
@require()
@api_operation(TAG, {200: ProviderToken})
def get_user_token(provider: str) -> Response:
    """Metadata of one of the caller's provider tokens."""
    user = current_principal().user
    return jsonify(current_services().providers.get("users", user.id, provider))


@bp.put("/user/provider-access-tokens/<provider>")
@require()
@api_operation(TAG, {200: ProviderToken, 201: ProviderToken}, json=ProviderFields, change=True)
def put_user_token(provider: str) -> tuple[Response, int]:
    """Set or replace one of the caller's provider tokens; answers metadata only."""
    user = current_principal().user
    fields = body(ProviderFields).root
    described, created = current_services().providers.put(
        "users", user.id, provider, fields, user.id
    )
    return _answer(described, created)


@bp.delete("/user/provider-access-tokens/<provider>")
@require()
@api_operation(TAG, {204: None}, change=True)
def delete_user_token(provider: str) -> tuple[str, int]:
    """Delete one of the caller's provider tokens with all its versions."""
    user = current_principal().user
    current_services().providers.delete("users", user.id, provider, actor=user.id)
    return "", 204


@bp.get("/orgs/<org>/provider-access-tokens")
@require()
@api_operation(TAG, {200: ProviderTokenList})
def list_org_tokens(org: str) -> Response:
    """Metadata of the organization's provider tokens (members)."""
    services = current_services()
    services.orgs.for_member(current_principal().user, org)
    return jsonify(services.providers.list("orgs", org))


@bp.get("/orgs/<org>/provider-access-tokens/<provider>")
@require()
@api_operation(TAG, {200: ProviderToken})
def get_org_token(org: str, provider: str) -> Response:
    """Metadata of one of the organization's provider tokens (members)."""
    services = current_services()
    services.orgs.for_member(current_principal().user, org)
    return jsonify(services.providers.get("orgs", org, provider))


@bp.put("/orgs/<org>/provider-access-tokens/<provider>")
@require()
@api_operation(TAG, {200: ProviderToken, 201: ProviderToken}, json=ProviderFields, change=True)
def put_org_token(org: str, provider: str) -> tuple[Response, int]:
    """Set or replace an organization's provider token (owners and maintainers)."""
    user = current_principal().user
    services = current_services()
    services.orgs.require_role(user, org, *WRITERS)
    fields = body(ProviderFields).root
    described, created = services.providers.put("orgs", org, provider, fields, user.id)
    return _answer(described, created)


@bp.delete("/orgs/<org>/provider-access-tokens/<provider>")
@require()
@api_operation(TAG, {204: None}, change=True)
def delete_org_token(org: str, provider: str) -> tuple[str, int]:
    """Delete an organization's provider token (owners and maintainers)."""
    user = current_principal().user
    services = current_services()
    services.orgs.require_role(user, org, *WRITERS)
    services.providers.delete("orgs", org, provider, actor=user.id)
    return "", 204
