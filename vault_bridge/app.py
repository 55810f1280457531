"""The Flask application factory."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix

from vault_bridge import auth, headers
from vault_bridge.api.payload import StrictJSONProvider
from vault_bridge.auth.session import VaultKeyedSessionInterface
from vault_bridge.config import Settings
from vault_bridge.connect import bundled_runner_client, reconciler_client, vault_client
from vault_bridge.logs import ACCESS_LOGGER
from vault_bridge.routing import LazyBuilderRule
from vault_bridge.services import EXTENSION, Services

log = logging.getLogger(__name__)
access_log = logging.getLogger(ACCESS_LOGGER)
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_BODY = 64 * 1024


def _register_request_id(app: Flask, services: Services) -> None:
    """Every request gets an id (the caller's X-Request-Id if sane), echoed in the response."""

    @app.before_request
    def assign_request_id() -> None:
        sent = request.headers.get("X-Request-Id", "")
        g.request_id = sent if REQUEST_ID.fullmatch(sent) else os.urandom(16).hex()
        g.started = time.perf_counter()

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        request_id = g.get("request_id")
        response.headers["X-Request-Id"] = request_id or ""
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        rule = request.url_rule
        route = rule.rule if rule else "unmatched"
        method = request.method
        status = response.status_code
        services.metrics.inc(
            "vault_bridge_http_requests_total", route=route, method=method, status=str(status)
        )
        services.metrics.observe("vault_bridge_http_request_duration_seconds", seconds, route=route)
        if not access_log.isEnabledFor(logging.INFO):
            return response
        principal = g.get("principal")
        # a dict: the JSON formatter makes its items the line's fields; the record is made
        # here, which spares logging the search of the stack for its caller on every request
        fields = {
            "request_id": request_id,
            "method": method,
            "route": route,
            "path": request.path,  # never the query string
            "status": status,
            "ms": round(seconds * 1000, 2),
            "remote": request.remote_addr,
            "user": principal.user.id if principal else None,
            "via": principal.via if principal else None,
        }
        access_log.handle(
            access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, fields, (), None)
        )
        return response


def audit_request_fields() -> dict[str, Any]:
    """What an audit event written while answering a request says of it: its id, the client's
    address, and how the caller authenticated and in which context."""
    if not has_request_context():
        return {}
    fields = {"request_id": g.get("request_id"), "source_ip": request.remote_addr}
    principal = g.get("principal")
    if principal is not None:
        fields["via"] = principal.via
        fields["context"] = principal.org
    return fields


def build_services(settings: Settings) -> Services:
    """The services for ``settings``, with the bundled runner's and the reconciler's identities
    when configured."""
    client = vault_client(settings)
    return Services(
        settings,
        client,
        runner_vault=bundled_runner_client(settings, client.addr),
        reconciler_vault=reconciler_client(settings, client.addr),
    )


def create_app(
    settings: Settings | None = None, services: Services | None = None, **overrides: Any
) -> Flask:
    """Build an app: ``settings`` (default: the environment) and optional ready-made services;
    the services' background work starts here, not on a first request."""
    settings = settings or Settings.from_env(**overrides)
    services = services or build_services(settings)
    app = Flask(__name__)
    app.url_rule_class = LazyBuilderRule  # URL builders compiled when first used, not here
    app.config.update(
        SESSION_COOKIE_NAME="vault_bridge_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=settings.session_lifetime),
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    if settings.trusted_proxies:
        # the client's address (sign-in throttling, logs) and scheme (Secure cookies, HSTS)
        # from X-Forwarded-For/-Proto, as set by exactly this many proxies in front
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.url_map.merge_slashes = False  # "/orgs//members" is a 404, not a redirect to a guess
    app.json = StrictJSONProvider(app)
    app.session_interface = VaultKeyedSessionInterface(services.session_key)
    app.extensions[EXTENSION] = services
    services.audit.request_fields = audit_request_fields
    auth.init_app(app, services.authenticator)

    from vault_bridge.api import (
        credentials,
        errors,
        meta,
        orgs,
        providers,
        runtime,
        session,
        user,
    )
    from vault_bridge.compat import qc_catalog, quantum

    errors.register(app)
    headers.register(app)
    _register_request_id(app, services)
    for blueprint in (
        meta.bp,
        session.bp,
        user.bp,
        credentials.bp,
        orgs.bp,
        providers.bp,
        runtime.bp,
        qc_catalog.bp,
        quantum.bp,
    ):
        app.register_blueprint(blueprint)

    from vault_bridge.web import init_web

    init_web(app)
    services.start()
    return app
