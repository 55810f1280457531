"""A new token's value, carried across one redirect (post/redirect/get) and shown once.

The value is never stored on the server: it rides in the session cookie, encrypted (Fernet:
AES-128-CBC with an HMAC, and a time stamp) under a key derived from the session signing key
that every replica shares, and bound to the session it was made for. The page that shows it
drops it from the cookie in the same answer, so a reload shows nothing; a copy of the old cookie
replayed later gets nothing either once ``MAX_AGE`` has passed.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import session

from vault_bridge.services import current_services

SESSION_KEY = "shown_once"
MAX_AGE = 120  # seconds between the form's answer and the page that shows the value
PURPOSE = b"vault-bridge: a new token shown once after a redirect"


def _fernet() -> Fernet:
    secret = current_services().session_key.get()
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def hold(payload: dict[str, Any]) -> None:
    """Keep ``payload`` (with a token value) for the next page of this session."""
    sealed = {"sid": session.get("sid"), **payload}
    session[SESSION_KEY] = _fernet().encrypt(json.dumps(sealed).encode()).decode()


def take() -> dict[str, Any] | None:
    """The payload held for this session, once; None when there is none, it is too old or it
    belongs to another session."""
    sealed = session.pop(SESSION_KEY, None)
    if not isinstance(sealed, str):
        return None
    try:
        payload = json.loads(_fernet().decrypt(sealed.encode(), ttl=MAX_AGE))
    except (InvalidToken, ValueError):
        return None
    if not isinstance(payload, dict) or payload.pop("sid", None) != session.get("sid"):
        return None
    return payload
