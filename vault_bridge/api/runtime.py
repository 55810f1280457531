"""Run-time grants: ``/api/v1/runtime/grants`` (job submitters) and ``/redeem`` (job runners)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from vault_bridge.api.auth import authenticate, require, services
from vault_bridge.api.body import json_body

bp = Blueprint("runtime", __name__, url_prefix="/api/v1/runtime")


@bp.post("/grants")
@require(scopes=("api", "quantum_tokens"))
def issue_grant() -> tuple[Response, int]:
    """A grant for one job in the caller's context (X-OrganizationId), checked now."""
    body = json_body()
    principal = authenticate()
    grant = services().grants.issue(
        principal.user.id, principal.org, body.get("provider"), body.get("job_id")
    )
    response = jsonify(grant)
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.post("/grants/redeem")
def redeem_grant() -> Response:
    """A job runner (its Vault token in X-Vault-Token) redeems a grant, once, for a wrapping
    token that it unwraps at Vault itself."""
    body = json_body()
    redeemed = services().grants.redeem(body.get("grant"), request.headers.get("X-Vault-Token"))
    response = jsonify(redeemed)
    response.headers["Cache-Control"] = "no-store"
    return response
