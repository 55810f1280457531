"""The settings UI: sign-in, personal and provider access tokens, organizations.

A Flask blueprint with server-rendered templates and one small stylesheet; no CDN, no build step.
It calls the same services as the JSON API, so every rule (roles, validation, write-only secrets)
is enforced once, in the services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import flask_login
from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from vault_bridge import scopes
from vault_bridge.api.errors import http_error_response
from vault_bridge.auth.csrf import check_csrf, csrf_token
from vault_bridge.auth.session import check_session_store
from vault_bridge.directory.users import User
from vault_bridge.errors import ServiceUnavailable, Unauthenticated, VaultBridgeError
from vault_bridge.services import Services, current_services
from vault_bridge.timeutil import parse_iso

from .token_rows import format_expiry, format_moment

bp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/web",
)
API_PREFIXES = ("/api/", "/quantum", "/qc-catalog", "/.well-known", "/healthz", "/readyz")


P = ParamSpec("P")
R = TypeVar("R")


class WebUser:
    """The signed-in user, as flask-login wants it (what its UserMixin gives, typed)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User) -> None:
        self.user = user
        self.id = user.id

    def get_id(self) -> str:
        """The id flask-login keeps in the session."""
        return self.id


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """View decorator that redirects anonymous users to the sign-in page (flask-login's)."""
    wrapped: Callable[P, R] = flask_login.login_required(view)
    return wrapped


# which kind of page an endpoint shows: the account switcher keeps it (see views.switch_context)
PAGE_KINDS = {
    **dict.fromkeys(("web.personal_access_tokens", "web.create_pat", "web.revoke_pat"), "pats"),
    **dict.fromkeys(("web.organizations", "web.create_org"), "orgs"),
    **dict.fromkeys(
        ("web.organization", "web.set_member", "web.remove_member", "web.delete_org"), "members"
    ),
}
FORM_EXPIRED = "The form expired or was not sent from this site. Reload the page and try again."


def services() -> Services:
    """The services of the current app."""
    return current_services()


def format_date(value: Any) -> Markup:
    """``2026-12-31T00:00:00Z`` → ``<time datetime="2026-12-31">31 Dec 2026</time>``.

    One format on every page; the element keeps the day on one line (see app.css).
    """
    if not value:
        return Markup("")
    moment = parse_iso(value) if isinstance(value, str) else value
    return Markup('<time datetime="{}">{}</time>').format(
        moment.date().isoformat(), moment.strftime("%-d %b %Y")
    )


def format_day(value: str) -> str:
    """A date input's ``2027-01-31`` → ``31 Jan 2027``; anything else → nothing."""
    try:
        return dt.date.fromisoformat(value).strftime("%-d %b %Y") if len(value) == 10 else ""
    except ValueError:
        return ""


def init_web(app: Flask) -> None:
    """Attach the UI to an app: flask-login, error pages, template helpers."""
    login = LoginManager()
    login.login_view = "web.login"
    login.login_message = "Please sign in to continue."
    login.login_message_category = "info"
    login.session_protection = None  # sessions are bound by their own lifetime and CSRF token
    login.init_app(app)
    # Sign-in never issues flask-login's remember-me cookie (a session is a record in Vault with
    # its own lifetime), so its hook that would refresh one only reads the session of every
    # answer, and an answer whose session was read varies on the cookie: not a PAT's answer.
    hooks = app.after_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if hook != login._update_remember_cookie]

    def load_user(user_id: str) -> WebUser | None:
        try:
            user = services().authenticator.session_user()  # the record, not only the cookie
        except Unauthenticated:
            return None
        return WebUser(user) if user.id == user_id else None

    login.user_loader(load_user)

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["scopes"] = scopes.REGISTRY
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["expiry"] = format_expiry
    app.jinja_env.filters["moment"] = format_moment

    @app.context_processor
    def navigation() -> dict[str, Any]:
        if not current_user.is_authenticated:
            return {}
        try:
            orgs = services().orgs.list_for(current_user.user)
        except VaultBridgeError:
            orgs = []
        active = next((o for o in orgs if o["id"] == session.get("context")), None)
        return {
            "nav_orgs": orgs,
            "active_context": active["id"] if active else None,
            "active_org": active,
            "page_kind": PAGE_KINDS.get(request.endpoint or "", "providers"),
        }

    @app.before_request
    def protect_forms() -> None:
        if request.blueprint != "web" or request.endpoint in {"web.static", "web.favicon"}:
            return
        check_session_store()  # the session key lives in Vault: no Vault, no sessions
        if request.method == "POST":
            check_csrf(FORM_EXPIRED)

    from vault_bridge.web import org_pats, pats, views  # noqa: F401 - register the routes on bp

    app.register_blueprint(bp)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        return render_error(exc) if wants_html() else http_error_response(exc)


def wants_html() -> bool:
    """True for browser pages (not the JSON API)."""
    if request.path.startswith(API_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "text/html"


def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    """An error page that looks like the rest."""
    return render_template("error.html", status=status, title=title, message=message), status


TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    429: "Slow down",
    500: "Something went wrong",
    503: "Vault unavailable",
}


def render_error(exc: Exception) -> tuple[str, int]:
    """Map any error to the error page (no trace, no secret)."""
    if isinstance(exc, ServiceUnavailable):
        return error_page(
            503,
            TITLES[503],
            "The secret store cannot be reached right now. Nothing was changed; please try again "
            "in a moment.",
        )
    if isinstance(exc, VaultBridgeError):
        return error_page(exc.status, TITLES.get(exc.status, "Error"), exc.message)
    if isinstance(exc, HTTPException):
        code = exc.code or 500
        message = exc.description or ""
        if code == 404:
            message = "There is nothing here. The link may be old, or you may not have access."
        return error_page(code, TITLES.get(code, exc.name), message)
    return error_page(500, TITLES[500], "An unexpected error occurred. Nothing secret was exposed.")


def set_context(org: str | None) -> None:
    """Remember the account context the user chose in the header."""
    session["context"] = org
    g.pop("context", None)


def go(endpoint: str, **values: Any) -> Response:
    """Redirect to a page of this blueprint."""
    return redirect(url_for(endpoint, **values))
