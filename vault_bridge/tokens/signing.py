"""Build a PAT: its claims, its header, and a signature made by Vault transit."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from jwt.utils import base64url_decode, base64url_encode

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.tokens.keys import SigningKeys, kid_for

TOKEN_TYPE = "pat+jwt"  # noqa: S105 - the JWT typ header, not a secret
SIGNATURE_CHARS = 86  # an Ed25519 or ES256 signature (64 bytes) in base64url
REQUIRED_CLAIMS = ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "scope"]


@dataclass(frozen=True)
class PatClaims:
    """What a new PAT says about itself."""

    issuer: str
    audience: str
    user: str
    token_id: str
    scopes: tuple[str, ...]
    issued_at: int
    expires_at: int
    organizations: tuple[str, ...] | None = None  # None: every organization of the user
    personal: bool = True

    def as_claims(self) -> dict[str, Any]:
        """The JWT claims; ``orgs`` and ``personal`` only for a restricted token."""
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.user,
            "aud": self.audience,
            "iat": self.issued_at,
            "nbf": self.issued_at,
            "exp": self.expires_at,
            "jti": self.token_id,
            "scope": " ".join(self.scopes),
        }
        if self.organizations is not None:
            claims["orgs"] = list(self.organizations)
        if not self.personal:
            claims["personal"] = False
        return claims


def _segment(part: dict[str, Any]) -> str:
    return base64url_encode(json.dumps(part, separators=(",", ":")).encode()).decode("ascii")


def sign(keys: SigningKeys, claims: PatClaims) -> str:
    """A compact JWS signed by the latest key version; the private key never leaves Vault."""
    key = keys.latest()
    header = {"alg": key.algorithm, "kid": key.kid, "typ": TOKEN_TYPE}
    signing_input = f"{_segment(header)}.{_segment(claims.as_claims())}"
    version, signature = keys.transit.sign(signing_input.encode(), key_version=key.version)
    if kid_for(keys.transit.key, version) != key.kid:
        raise ServiceUnavailable("transit signed with an unexpected key version")
    return f"{signing_input}.{signature}"


def scanner_pattern(prefix: str) -> str:
    """The regular expression secret scanners use to find PATs with ``prefix``: the prefix,
    then a compact JWS whose header and payload are JSON objects (``eyJ`` is ``{"`` in base64url)
    and whose signature is 64 bytes (RE2 syntax, as gitleaks and trufflehog use; Python's ``re``
    reads it too)."""
    segment = "[A-Za-z0-9_-]"
    return (
        rf"\b{re.escape(prefix)}eyJ{segment}{{16,}}\.eyJ{segment}{{16,}}\."
        rf"{segment}{{{SIGNATURE_CHARS}}}"
    )


def unverified_header(token: str) -> dict[str, Any] | None:
    """Decode only the JWS header (PyJWT's get_unverified_header decodes the whole token)."""
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64url_decode(segment))
    except (ValueError, TypeError, RecursionError):
        return None
    return header if isinstance(header, dict) else None
