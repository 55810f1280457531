"""The Flask application factory."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from vault_bridge.config import Settings
from vault_bridge.errors import ServiceUnavailable
from vault_bridge.services import Services

log = logging.getLogger(__name__)
access_log = logging.getLogger("vault_bridge.access")


class VaultKeyedSessionInterface(SecureCookieSessionInterface):
    """Signed session cookies whose key is read from Vault on first use (not at start-up)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured, and always when the request came over https."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure
        )

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        services: Services = app.extensions["vault_bridge"]
        try:
            key = services.session_key()
        except ServiceUnavailable:
            return None  # no session this request: callers get 401/503, never a forged session
        signer_kwargs = {"key_derivation": self.key_derivation, "digest_method": self.digest_method}
        return URLSafeTimedSerializer(
            key, salt=self.salt, serializer=self.serializer, signer_kwargs=signer_kwargs
        )


REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _register_request_id(app: Flask) -> None:
    """Every request gets an id (the caller's X-Request-Id if sane), echoed in the response."""

    @app.before_request
    def assign_request_id() -> None:
        sent = request.headers.get("X-Request-Id", "")
        g.request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics = app.extensions["vault_bridge"].metrics
        metrics.inc(
            "vault_bridge_http_requests_total",
            route=route,
            method=request.method,
            status=str(response.status_code),
        )
        metrics.observe("vault_bridge_http_request_duration_seconds", seconds, route=route)
        principal = g.get("principal")
        access_log.info(
            json.dumps(
                {
                    "request_id": g.get("request_id"),
                    "method": request.method,
                    "route": route,
                    "path": request.path,  # never the query string
                    "status": response.status_code,
                    "ms": round(seconds * 1000, 2),
                    "remote": request.remote_addr,
                    "user": principal.user.id if principal else None,
                    "via": principal.via if principal else None,
                },
                separators=(",", ":"),
            )
        )
        return response


def create_app(
    settings: Settings | None = None, services: Services | None = None, **overrides: Any
) -> Flask:
    """Build an app: ``settings`` (default: the environment) and optional ready-made services."""
    settings = settings or Settings.from_env(**overrides)
    app = Flask(__name__)
    app.config.update(
        SESSION_COOKIE_NAME="vault_bridge_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=settings.session_lifetime),
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.url_map.merge_slashes = False  # "/orgs//members" is a 404, not a redirect to a guess
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.session_interface = VaultKeyedSessionInterface()
    app.extensions["vault_bridge"] = services or Services(settings)
    app.extensions["vault_bridge_settings"] = settings

    from vault_bridge.api import errors, meta, orgs, providers, runtime, session, user
    from vault_bridge.compat import qc_catalog, quantum

    errors.register(app)
    _register_request_id(app)
    for blueprint in (
        meta.bp,
        session.bp,
        user.bp,
        orgs.bp,
        providers.bp,
        runtime.bp,
        qc_catalog.bp,
        quantum.bp,
    ):
        app.register_blueprint(blueprint)

    from vault_bridge.web import init_web

    init_web(app)
    return app
