"""Run-time grants: ``/api/v1/runtime/grants`` (job submitters) and ``/redeem`` (job runners)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from vault_bridge import scopes
from vault_bridge.api.models import Error, Grant, GrantRequest, Redeem, Redeemed
from vault_bridge.api.routes import api_operation
from vault_bridge.api.spec import RUNNER, body, operation
from vault_bridge.auth import current_principal, require
from vault_bridge.services import current_services

bp = Blueprint("runtime", __name__, url_prefix="/api/v1/runtime")


@bp.post("/grants")
@require(scopes=scopes.RUN_JOBS)
@api_operation("run-time grants", {201: Grant}, json=GrantRequest, change=True)
def issue_grant() -> tuple[Response, int]:
    """A grant for one job in the caller's context (X-OrganizationId), checked now."""
    wanted = body(GrantRequest)
    principal = current_principal()
    grant = current_services().grants.issue(
        principal.user, principal.org, wanted.provider, wanted.job_id
    )
    response = jsonify(grant)
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.post("/grants/redeem")
@operation(
    ok={200: Redeemed},
    errors=(400, 401, 403, 409, 410, 503),
    error_model=Error,
    security=RUNNER,
    tags=("run-time grants",),
    json=Redeem,
)
def redeem_grant() -> Response:
    """A job runner (its Vault token in X-Vault-Token) redeems a grant, once, for a wrapping
    token that it unwraps at Vault itself."""
    services = current_services()
    runner = services.runners.check(request.headers.get("X-Vault-Token"))
    redeemed = services.grants.redeem(body(Redeem).grant, runner)
    response = jsonify(redeemed)
    response.headers["Cache-Control"] = "no-store"
    return response
