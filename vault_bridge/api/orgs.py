"""Organizations and their members: ``/api/v1/orgs``."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from vault_bridge.api.auth import authenticate, require, services
from vault_bridge.api.body import json_body

bp = Blueprint("orgs", __name__, url_prefix="/api/v1/orgs")


@bp.post("")
@require()
def create_org() -> tuple[Response, int]:
    """Create an organization; the caller becomes its first owner."""
    body = json_body()
    user = authenticate().user
    profile = services().orgs.create(body.get("id"), body.get("display_name"), user, actor=user.id)
    return jsonify({**profile, "role": "owner"}), 201


@bp.get("")
@require()
def list_orgs() -> Response:
    """The caller's organizations with their role."""
    return jsonify(services().orgs.list_for(authenticate().user))


@bp.get("/<org>")
@require()
def get_org(org: str) -> Response:
    """One organization (members only)."""
    profile, role = services().orgs.for_member(authenticate().user, org)
    return jsonify({**profile, "role": role})


@bp.delete("/<org>")
@require()
def delete_org(org: str) -> tuple[str, int]:
    """Delete an organization with its provider tokens (owners only)."""
    user = authenticate().user
    services().orgs.require_role(user, org, "owner")
    services().orgs.delete(org, actor=user.id)
    return "", 204


@bp.get("/<org>/members")
@require()
def list_members(org: str) -> Response:
    """The members and their roles (members only)."""
    services().orgs.for_member(authenticate().user, org)
    return jsonify(services().orgs.members(org))


@bp.put("/<org>/members/<user_id>")
@require()
def put_member(org: str, user_id: str) -> Response:
    """Add a member or change a role (owners only)."""
    body = json_body()
    user = authenticate().user
    services().orgs.require_role(user, org, "owner")
    return jsonify(services().orgs.set_member(org, user_id, body.get("role"), actor=user.id))


@bp.delete("/<org>/members/<user_id>")
@require()
def delete_member(org: str, user_id: str) -> tuple[str, int]:
    """Remove a member (owners), or leave (any member)."""
    user = authenticate().user
    if user_id != user.id:
        services().orgs.require_role(user, org, "owner")
    else:
        services().orgs.for_member(user, org)
    services().orgs.remove_member(org, user_id, actor=user.id)
    return "", 204
