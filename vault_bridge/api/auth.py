"""Who is calling: a PAT (Authorization: Bearer or X-Auth-Token) or a browser session.

One place authenticates every request; routes declare what they need with ``require``.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from flask import current_app, g, request, session

from vault_bridge.directory.users import User
from vault_bridge.errors import Forbidden, Unauthenticated, VaultBridgeError
from vault_bridge.ids import check_account_id
from vault_bridge.services import Services
from vault_bridge.tokens.service import VerifiedToken

F = TypeVar("F", bound=Callable[..., Any])
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user: User
    via: Literal["pat", "session"]
    token: VerifiedToken | None = None
    org: str | None = None  # the organization context (X-OrganizationId)
    org_role: str | None = None

    def has_scope(self, scope: str) -> bool:
        """Sessions carry every scope; PATs only those they were given."""
        return self.token is None or scope in self.token.scopes


def services() -> Services:
    """The services of the current app."""
    return current_app.extensions["vault_bridge"]


def bearer_token() -> str | None:
    """The PAT sent with the request, if any."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", code="invalid_token")
        return value.strip()
    value = request.headers.get("X-Auth-Token")
    if value is not None:
        return value.strip()
    return None


def authenticate() -> Principal:
    """Authenticate the current request (cached on ``g``)."""
    if "principal" in g:
        return g.principal
    svc = services()
    token = bearer_token()
    if token is not None:
        try:
            verified = svc.tokens.verify(token)
            user = svc.directory.active_user(verified.user)
            if user is None:
                raise Unauthenticated("the token's user no longer exists", code="user_not_found")
        except VaultBridgeError as exc:
            svc.metrics.inc("vault_bridge_token_verifications_total", result=exc.code)
            raise
        svc.metrics.inc("vault_bridge_token_verifications_total", result="ok")
        if svc.tokens.touch(verified, request.remote_addr):
            svc.audit.record(
                "pat.use",
                actor=verified.user,
                target=verified.token_id,
                owner=verified.user,
                note="first use from this address",
            )
        principal = Principal(user=user, via="pat", token=verified)
    else:
        user_id = session.get("user")
        started = session.get("started", 0)
        if not user_id or time.time() - started > svc.settings.session_lifetime:
            raise Unauthenticated("authentication required", code="unauthenticated")
        user = svc.directory.active_user(user_id)
        if user is None:
            session.clear()
            raise Unauthenticated("the session's user no longer exists", code="user_not_found")
        if request.method not in SAFE_METHODS:
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
            if not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
                raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
        principal = Principal(user=user, via="session")
    org = request.headers.get("X-OrganizationId", "").strip()
    if org:
        check_account_id(org, "organization id in X-OrganizationId")
        role = principal.user.memberships.get(org)
        if role is None:
            raise Forbidden(f"you are not a member of organization {org}", code="not_a_member")
        principal = dataclasses.replace(principal, org=org, org_role=role)
    g.principal = principal
    return principal


def require(*, scopes: tuple[str, ...] = ("api",), session_only: bool = False) -> Callable[[F], F]:
    """View decorator: authenticate, then check the PAT scopes or insist on a session."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            if session_only and principal.via != "session":
                raise Forbidden(
                    "this needs a password sign-in; an access token cannot do it",
                    code="session_required",
                )
            for scope in scopes:
                if not principal.has_scope(scope):
                    raise Forbidden(
                        f"the access token lacks the '{scope}' scope", code="insufficient_scope"
                    )
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def start_session(user: User) -> str:
    """Sign the user in; returns the CSRF token the client must send back."""
    session.clear()
    session.permanent = True
    session["user"] = user.id
    session["started"] = int(time.time())
    session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]
