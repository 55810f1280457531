"""Browser sessions: a signed cookie naming the user, the session's id, its start and its CSRF
token; the session itself is a record in Vault (``directory.sessions``), so it can end.

The cookie's signing key is shared by every replica through Vault (created by bootstrap).
"""

from __future__ import annotations

import threading
import time

from flask import Flask, Request, Response, current_app, g, has_request_context, request, session
from flask.sessions import (
    NullSession,
    SecureCookieSession,
    SecureCookieSessionInterface,
    SessionMixin,
)
from itsdangerous import URLSafeTimedSerializer

from vault_bridge.auth.csrf import new_csrf_token
from vault_bridge.directory.sessions import SessionStore
from vault_bridge.directory.users import User
from vault_bridge.errors import ServiceUnavailable, VaultBridgeError
from vault_bridge.ids import is_account_id
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import SESSION_KEY_PATH


class SessionKey:
    """The session signing key: configured, or read once from Vault."""

    def __init__(self, kv: KV, configured: str = "") -> None:
        self.kv = kv
        self._key = configured
        self._lock = threading.Lock()

    def get(self) -> str:
        """The key; 503 ``not_bootstrapped`` when Vault has none."""
        if self._key:
            return self._key
        with self._lock:
            if not self._key:
                secret = self.kv.read(SESSION_KEY_PATH)
                if secret is None:
                    raise ServiceUnavailable(
                        "Vault is not bootstrapped: run `vault-bridge bootstrap`",
                        code="not_bootstrapped",
                    )
                self._key = str(secret.data["secret_key"])
        return self._key


class VaultKeyedSessionInterface(SecureCookieSessionInterface):
    """Signed session cookies whose key is read from Vault on first use (not at start-up)."""

    def __init__(self, key: SessionKey) -> None:
        self.key = key
        self._serializer: tuple[str, URLSafeTimedSerializer] | None = None

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The request's session; a request that sent no cookie at all (API clients with a PAT)
        gets an empty one without the cookie header being parsed."""
        if "HTTP_COOKIE" not in request.environ and self.get_signing_serializer(app) is not None:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Set, refresh or delete the cookie; nothing at all for a session nobody looked at,
        changed or filled (what the library would do too, after computing every cookie
        attribute)."""
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured, and always when the request came over https."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (
            has_request_context() and request.is_secure
        )

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The cookie serializer; None (no session) while Vault cannot give the key."""
        try:
            key = self.key.get()
        except VaultBridgeError as exc:
            if has_request_context():
                g.session_unavailable = exc  # check_session_store() turns it into a 503
            return None  # no session this request, never a forged one
        made = self._serializer
        if made is None or made[0] != key:  # made once per key: building one costs per request
            signer_kwargs = {
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            }
            serializer = URLSafeTimedSerializer(
                key, salt=self.salt, serializer=self.serializer, signer_kwargs=signer_kwargs
            )
            made = self._serializer = (key, serializer)
        return made[1]


def check_session_store() -> None:
    """503 when this request has no session because Vault could not give the signing key."""
    if not isinstance(session, NullSession):
        return
    reason = g.get("session_unavailable")
    raise ServiceUnavailable(
        "sessions are unavailable right now: "
        + (reason.message if isinstance(reason, VaultBridgeError) else "no session key"),
        code=reason.code if isinstance(reason, ServiceUnavailable) else None,
    )


def start_session(user: User, store: SessionStore, address: str | None) -> str:
    """Sign the user in (a new session record, bound to the account's entity); returns the CSRF
    token the client must send back."""
    check_session_store()
    session_id = store.create(user.id, user.entity_id, address)
    session.clear()
    session.permanent = True
    session["user"] = user.id
    session["sid"] = session_id
    session["started"] = int(time.time())
    return new_csrf_token()


def end_session(store: SessionStore | None = None) -> None:
    """Sign out: the session's record goes (with ``store``), then the cookie's content."""
    if isinstance(session, NullSession):
        return
    user_id, session_id = session.get("user"), session.get("sid")
    if store is not None and isinstance(user_id, str) and is_account_id(user_id):
        store.end(user_id, session_id)
    session.clear()


def session_claims(lifetime: float) -> tuple[str, str] | None:
    """(user id, session id) of the current session cookie, if it has both and has not outlived
    ``lifetime``; 503 when a session cookie was sent but cannot be read now (Vault away)."""
    if current_app.config["SESSION_COOKIE_NAME"] in request.cookies:
        check_session_store()
    user_id = session.get("user")
    session_id = session.get("sid")
    started = session.get("started", 0)
    if (
        not isinstance(user_id, str)
        or not is_account_id(user_id)
        or not isinstance(session_id, str)
        or not isinstance(started, int | float)
    ):
        return None
    if time.time() - started > lifetime:
        return None
    return user_id, session_id
