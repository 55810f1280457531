"""Endpoints without authentication: JWKS, liveness, readiness, the OpenAPI document."""

from __future__ import annotations

import json
from importlib import resources

from flask import Blueprint, Response, jsonify

from vault_bridge.api.auth import services
from vault_bridge.errors import ServiceUnavailable, VaultBridgeError

bp = Blueprint("meta", __name__)


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """The public keys of every signing key version still accepted."""
    response = jsonify(services().tokens.keys.jwks())
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Vault reachable and unsealed, bootstrapped, denylist fresh."""
    svc = services()
    checks: dict[str, str] = {}
    try:
        health = svc.client.health()
        checks["vault"] = "sealed" if health.get("sealed") else "ok"
    except ServiceUnavailable:
        checks["vault"] = "unreachable"
    if checks["vault"] == "ok":
        try:
            svc.tokens.start()
            svc.tokens.keys.latest()
            checks["bootstrap"] = "ok"
        except VaultBridgeError as exc:
            checks["bootstrap"] = exc.code
        try:
            svc.tokens.denylist.check_fresh()
            checks["denylist"] = "ok"
        except ServiceUnavailable:
            checks["denylist"] = "stale"
    ready = all(value == "ok" for value in checks.values()) and len(checks) == 3
    return jsonify({"status": "ready" if ready else "not_ready", "checks": checks}), (
        200 if ready else 503
    )


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(services().metrics.render(), mimetype="text/plain; version=0.0.4")


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 document of this API."""
    text = resources.files("vault_bridge.api").joinpath("openapi.json").read_text()
    return jsonify(json.loads(text))
