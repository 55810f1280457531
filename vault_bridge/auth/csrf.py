"""CSRF protection for session-authenticated requests, one rule for the API and the web UI.

The token lives in the signed session cookie; a state-changing request must send it back, in the
``X-CSRF-Token`` header (API) or the ``csrf_token`` form field (web forms).
"""

from __future__ import annotations

import hmac
import secrets

from flask import request, session

from vault_bridge.errors import Forbidden

HEADER = "X-CSRF-Token"
FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token() -> str:
    """The session's CSRF token, created on first use (anonymous visitors too: sign-in form)."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def new_csrf_token() -> str:
    """Replace the session's CSRF token (at sign-in) and return it."""
    session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def check_csrf(message: str = "missing or wrong CSRF token") -> None:
    """Refuse (403 ``csrf_failed``) a request that does not send the session's token back."""
    sent = request.headers.get(HEADER) or request.form.get(FORM_FIELD) or ""
    expected = session.get("csrf")
    if (
        not sent
        or not isinstance(expected, str)
        or not expected
        or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode())
    ):
        raise Forbidden(message, code="csrf_failed")
