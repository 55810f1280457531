"""``/qc-catalog``: what the PLANQK CLI calls to log in with a PAT and to switch contexts."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from vault_bridge.api.auth import authenticate, require, services
from vault_bridge.errors import VaultBridgeError

bp = Blueprint("qc_catalog", __name__, url_prefix="/qc-catalog")


@bp.errorhandler(VaultBridgeError)
def planqk_error(exc: VaultBridgeError) -> tuple[Response, int]:
    """PLANQK clients read ``errorMessage``; the usual error object rides along."""
    body = {"errorMessage": exc.message, "error": {"code": exc.code, "message": exc.message}}
    return jsonify(body), exc.status


def _names(display_name: str) -> tuple[str, str]:
    first, _, last = display_name.strip().partition(" ")
    return first, last


@bp.post("/authorize")
@require()
def authorize() -> Response:
    """Who the PAT belongs to, as ``planqk login`` expects it."""
    principal = authenticate()
    user = principal.user
    first, last = _names(user.display_name)
    scopes = sorted(principal.token.scopes) if principal.token else ["api", "quantum_tokens"]
    return jsonify(
        {
            "user": {
                "id": user.id,
                "username": user.id,
                "firstName": first,
                "lastName": last,
                "email": user.email,
            },
            "roles": [scope.upper() for scope in scopes],
        }
    )


@bp.get("/my/accounts")
@require()
def accounts() -> Response:
    """The personal account first, then each organization with the caller's role."""
    principal = authenticate()
    user = principal.user
    result = [
        {
            "id": user.id,
            "displayName": user.display_name,
            "role": "OWNER",
            "isOrganization": False,
            "accountType": "USER",
        }
    ]
    for org in services().orgs.list_for(user):
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
