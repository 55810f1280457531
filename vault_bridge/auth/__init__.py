"""Authentication for the API, the web UI and the PLANQK surfaces: PATs, sessions, CSRF and job
runners' Vault tokens. Routes declare what they need with ``require``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import Flask, current_app, g

from vault_bridge import scopes as registry
from vault_bridge.auth.principal import Authenticator, Principal
from vault_bridge.auth.runner import RunnerTokens
from vault_bridge.errors import Forbidden

EXTENSION = "vault_bridge.auth"
P = ParamSpec("P")
R = TypeVar("R")

__all__ = ["Authenticator", "Principal", "RunnerTokens", "current_principal", "init_app", "require"]


def init_app(app: Flask, authenticator: Authenticator) -> None:
    """Attach the authenticator to an app."""
    app.extensions[EXTENSION] = authenticator


def current_principal() -> Principal:
    """Authenticate the current request (once; cached on ``g``)."""
    principal = g.get("principal")
    if isinstance(principal, Principal):
        return principal
    authenticator: Authenticator = current_app.extensions[EXTENSION]
    principal = authenticator.authenticate()
    g.principal = principal
    return principal


def require(
    *, scopes: tuple[str, ...] = (registry.API,), session_only: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """View decorator: authenticate, then check the PAT scopes or insist on a session."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = current_principal()
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

        return wrapper

    return decorate
