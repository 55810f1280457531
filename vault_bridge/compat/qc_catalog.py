"""``/qc-catalog``: what the PLANQK CLI calls to log in with a PAT and to switch contexts."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel

from vault_bridge import scopes
from vault_bridge.api.models import ContextHeaders
from vault_bridge.api.spec import ANY_AUTH, ANY_AUTH_CHANGE, operation
from vault_bridge.auth import current_principal, require
from vault_bridge.compat.models import Accounts, Authorized, PlanqkError
from vault_bridge.errors import VaultBridgeError, error_headers
from vault_bridge.services import current_services

bp = Blueprint("qc_catalog", __name__, url_prefix="/qc-catalog")
P = ParamSpec("P")
R = TypeVar("R")


@bp.errorhandler(VaultBridgeError)
def planqk_error(exc: VaultBridgeError) -> tuple[Response, int]:
    """PLANQK clients read ``errorMessage``; the usual error object rides along."""
    body = {"errorMessage": exc.message, "error": {"code": exc.code, "message": exc.message}}
    response = jsonify(body)
    response.headers.update(error_headers(exc))
    return response, exc.status


def _operation(
    ok: type[BaseModel], security: list[dict[str, list[str]]]
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return operation(
        ok={200: ok},
        errors=(400, 401, 403, 503),
        error_model=PlanqkError,
        security=security,
        tags=("PLANQK CLI",),
        headers=ContextHeaders,
    )


def _names(display_name: str) -> tuple[str, str]:
    first, _, last = display_name.strip().partition(" ")
    return first, last


@bp.post("/authorize")
@require()
@_operation(Authorized, ANY_AUTH_CHANGE)
def authorize() -> Response:
    """Who the PAT belongs to, as ``planqk login`` expects it."""
    principal = current_principal()
    user = principal.user
    first, last = _names(user.display_name)
    granted = sorted(principal.token.scopes) if principal.token else list(scopes.NAMES)
    by_name = {scope.name: scope.planqk for scope in scopes.REGISTRY}
    return jsonify(
        {
            "user": {
                "id": user.id,
                "username": user.id,
                "firstName": first,
                "lastName": last,
                "email": user.email,
            },
            "roles": [by_name[scope] for scope in granted],
        }
    )


@bp.get("/my/accounts")
@require()
@_operation(Accounts, ANY_AUTH)
def accounts() -> Response:
    """The personal account first, then each organization with the caller's role."""
    user = current_principal().user
    result = [
        {
            "id": user.id,
            "displayName": user.display_name,
            "role": "OWNER",
            "isOrganization": False,
            "accountType": "USER",
        }
    ]
    for org in current_services().orgs.list_for(user):
        result.append(
            {
                "id": org["id"],
                "displayName": org["display_name"],
                "role": org["role"].upper(),
                "isOrganization": True,
                "accountType": "ORGANIZATION",
            }
        )
    return jsonify(result)
