"""Organizations and their members: ``/api/v1/orgs``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from vault_bridge.api.models import (
    CreateOrg,
    Member,
    MemberList,
    Org,
    OrgList,
    OrgToken,
    OrgTokenList,
    SetRole,
)
from vault_bridge.api.routes import api_operation
from vault_bridge.api.spec import body
from vault_bridge.auth import current_principal, require
from vault_bridge.services import current_services

bp = Blueprint("orgs", __name__, url_prefix="/api/v1/orgs")
TAG = "organizations"


@bp.post("")
@require()
@api_operation(TAG, {201: Org}, json=CreateOrg, change=True)
def create_org() -> tuple[Response, int]:
    """Create an organization; the caller becomes its first owner."""
    wanted = body(CreateOrg)
    user = current_principal().user
    profile = current_services().orgs.create(wanted.id, wanted.display_name, user, actor=user.id)
    return jsonify({**profile, "role": "owner"}), 201


@bp.get("")
@require()
@api_operation(TAG, {200: OrgList})
def list_orgs() -> Response:
    """The caller's organizations with their role."""
    return jsonify(current_services().orgs.list_for(current_principal().user))


@bp.get("/<org>")
@require()
@api_operation(TAG, {200: Org})
def get_org(org: str) -> Response:
    """One organization (members only)."""
    profile, role = current_services().orgs.for_member(current_principal().user, org)
    return jsonify({**profile, "role": role})


@bp.delete("/<org>")
@require()
@api_operation(TAG, {204: None}, change=True)
def delete_org(org: str) -> tuple[str, int]:
    """Delete an organization with its provider tokens (owners only)."""
    user = current_principal().user
    orgs = current_services().orgs
    orgs.require_role(user, org, "owner")
    orgs.delete(org, actor=user.id)
    return "", 204


@bp.get("/<org>/members")
@require()
@api_operation(TAG, {200: MemberList})
def list_members(org: str) -> Response:
    """The members and their roles (members only)."""
    orgs = current_services().orgs
    orgs.for_member(current_principal().user, org)
    return jsonify(orgs.members(org))


@bp.put("/<org>/members/<user_id>")
@require()
@api_operation(TAG, {200: Member}, json=SetRole, change=True)
def put_member(org: str, user_id: str) -> Response:
    """Add a member or change a role (owners only)."""
    wanted = body(SetRole)
    user = current_principal().user
    orgs = current_services().orgs
    orgs.require_role(user, org, "owner")
    return jsonify(orgs.set_member(org, user_id, wanted.role, actor=user.id))


@bp.delete("/<org>/members/<user_id>")
@require()
@api_operation(TAG, {204: None}, change=True)
def delete_member(org: str, user_id: str) -> tuple[str, int]:
    """Remove a member (owners), or leave (any member)."""
    user = current_principal().user
    orgs = current_services().orgs
    if user_id != user.id:
        orgs.require_role(user, org, "owner")
    else:
        orgs.for_member(user, org)
    orgs.remove_member(org, user_id, actor=user.id)
    return "", 204


@bp.get("/<org>/personal-access-tokens")
@require()
@api_operation(TAG, {200: OrgTokenList})
def list_org_tokens(org: str) -> Response:
    """Members' PATs used in the organization's context, still working (owners only)."""
    services = current_services()
    services.orgs.require_role(current_principal().user, org, "owner")
    return jsonify(services.tokens.org_access.list(org))


@bp.put("/<org>/personal-access-tokens/<token_id>/block")
@require()
@api_operation(TAG, {200: OrgToken}, change=True)
def block_org_token(org: str, token_id: str) -> Response:
    """Block a member's PAT from acting in the organization; it keeps working elsewhere."""
    user = current_principal().user
    services = current_services()
    services.orgs.require_role(user, org, "owner")
    return jsonify(services.tokens.org_access.block(org, token_id, actor=user.id))


@bp.delete("/<org>/personal-access-tokens/<token_id>/block")
@require()
@api_operation(TAG, {204: None}, change=True)
def unblock_org_token(org: str, token_id: str) -> tuple[str, int]:
    """Let a blocked PAT act in the organization again (owners only)."""
    user = current_principal().user
    services = current_services()
    services.orgs.require_role(user, org, "owner")
    services.tokens.org_access.unblock(org, token_id, actor=user.id)
    return "", 204
