"""Endpoints without authentication: JWKS, liveness, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from vault_bridge.api.models import Error, Health, Jwks, Readiness
from vault_bridge.api.spec import PUBLIC, document, operation
from vault_bridge.errors import ServiceUnavailable, VaultBridgeError
from vault_bridge.metrics import CONTENT_TYPE
from vault_bridge.services import current_services

bp = Blueprint("meta", __name__)


@bp.get("/.well-known/jwks.json")
@operation(ok={200: Jwks}, errors=(503,), error_model=Error, security=PUBLIC, tags=("keys",))
def jwks() -> Response:
    """The public keys of every signing key version still accepted."""
    response = jsonify(current_services().tokens.keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/healthz")
@operation(ok={200: Health}, errors=(), error_model=Error, security=PUBLIC, tags=("health",))
def healthz() -> Response:
    """The process is up."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@operation(
    ok={200: Readiness, 503: Readiness},
    errors=(),
    error_model=Error,
    security=PUBLIC,
    tags=("health",),
)
def readyz() -> tuple[Response, int]:
    """Vault reachable and unsealed, bootstrapped (signing and session keys), denylist fresh."""
    services = current_services()
    checks: dict[str, str] = {}
    try:
        health = services.client.health()
        checks["vault"] = "sealed" if health.get("sealed") else "ok"
    except ServiceUnavailable:
        checks["vault"] = "unreachable"
    if checks["vault"] == "ok":
        try:
            services.tokens.keys.latest()
            services.session_key.get()  # sign-in needs it
            checks["bootstrap"] = "ok"
        except VaultBridgeError as exc:
            checks["bootstrap"] = exc.code
        try:
            services.tokens.denylist.check_fresh()
            checks["denylist"] = "ok"
        except ServiceUnavailable:
            checks["denylist"] = "stale"
    ready = all(value == "ok" for value in checks.values()) and len(checks) == 3
    return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), (
        200 if ready else 503
    )


@bp.get("/metrics")
@operation(ok={200: None}, errors=(), error_model=Error, security=PUBLIC, tags=("health",))
def metrics() -> Response:
    """Prometheus metrics of this process, or of the whole gunicorn group (text format)."""
    return Response(current_services().metrics.render(), content_type=CONTENT_TYPE)


@bp.get("/api/v1/openapi.json")
@operation(ok={200: None}, errors=(), error_model=Error, security=PUBLIC, tags=("meta",))
def openapi() -> Response:
    """The OpenAPI 3 document of this API, generated from the models of its routes."""
    return jsonify(document())
