"""Public signing keys from Vault transit, cached, published as a JWKS."""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from vault_bridge.errors import ServiceUnavailable
from vault_bridge.vault.transit import Transit

PublicKey = Ed25519PublicKey | EllipticCurvePublicKey


@dataclass(frozen=True)
class KeyVersion:
    """One version of the signing key."""

    kid: str
    version: int
    algorithm: str
    public_key: PublicKey
    created_at: str


def kid_for(key_name: str, version: int) -> str:
    """The ``kid`` header naming a transit key version."""
    return f"{key_name}-v{version}"


class SigningKeys:
    """Cache of the transit key's public versions.

    Refreshed by the token service's maintenance loop (whenever Vault's raft index moved, checked
    every few seconds, and periodically whatever it says), and on a ``kid`` newer than any known
    version at most once per ``min_refresh`` seconds, so a rotation or a retirement done with the
    Vault CLI is picked up without a restart and forged ``kid``s cannot make us hammer Vault.
    """

    def __init__(
        self, transit: Transit, algorithm: str, max_age: float = 60.0, min_refresh: float = 0.25
    ) -> None:
        self.transit = transit
        self.algorithm = algorithm
        self.max_age = max_age
        self.min_refresh = min_refresh
        self._keys: dict[str, KeyVersion] = {}
        self._latest: KeyVersion | None = None
        self._last_refresh = float("-inf")
        self._refresh_failed = False  # the last attempt to read the key failed
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Read the key's public versions from Vault."""
        with self._lock:
            self._last_refresh = time.monotonic()
            self._refresh_failed = True
            data = self.transit.read_key()
            if data is None:
                raise ServiceUnavailable(
                    "the PAT signing key does not exist: run `vault-bridge bootstrap`",
                    code="not_bootstrapped",
                )
            keys: dict[str, KeyVersion] = {}
            min_version = int(data.get("min_decryption_version") or 1)
            for version_text, info in (data.get("keys") or {}).items():
                version = int(version_text)
                if version < min_version:
                    continue  # retired by the operator: tokens signed by it no longer verify
                kid = kid_for(self.transit.key, version)
                keys[kid] = KeyVersion(
                    kid=kid,
                    version=version,
                    algorithm=self.algorithm,
                    public_key=_load_public_key(data["type"], info["public_key"]),
                    created_at=str(info.get("creation_time") or ""),
                )
            latest = int(data["latest_version"])
            self._keys = keys
            self._latest = keys[kid_for(self.transit.key, latest)]
            self._refresh_failed = False

    def accepts(self, kid: str) -> bool:
        """True while the version named by ``kid`` is still accepted (no Vault call): a cached
        verification ends when the operator retires its key version."""
        return kid in self._keys

    def latest(self) -> KeyVersion:
        """The version new tokens are signed with (re-read when older than ``max_age``)."""
        if self._latest is None or time.monotonic() - self._last_refresh > self.max_age:
            self.refresh()
        assert self._latest is not None
        return self._latest

    def get(self, kid: str) -> KeyVersion | None:
        """The key version named by ``kid``; refreshes (rate limited) when it may be new.

        Only a ``kid`` naming a version above the newest known one can trigger a refresh, so
        made-up ``kid``s cost nothing. While the key cannot be read (Vault down) such a ``kid``
        is ServiceUnavailable, never None: the token may be genuine, and a 401 would make its
        client forget it.
        """
        key = self._keys.get(kid)
        if key is not None:
            return key
        prefix = f"{self.transit.key}-v"
        suffix = kid[len(prefix) :] if kid.startswith(prefix) else ""
        if not suffix.isdigit() or len(suffix) > 9:
            return None
        if self._latest is not None and int(suffix) <= self._latest.version:
            return None
        if time.monotonic() - self._last_refresh >= self.min_refresh:
            self.refresh()
            return self._keys.get(kid)
        if self._refresh_failed:
            raise ServiceUnavailable("the PAT signing keys cannot be read right now; try again")
        return None

    def versions(self) -> list[KeyVersion]:
        """Every version still accepted, oldest first."""
        if self._latest is None:
            self.refresh()
        return sorted(self._keys.values(), key=lambda k: k.version)

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JSON Web Key Set (RFC 7517)."""
        return {"keys": [_jwk(key) for key in self.versions()]}


def _load_public_key(key_type: str, text: str) -> PublicKey:
    if key_type == "ed25519":
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))
    if key_type == "ecdsa-p256":
        key = load_pem_public_key(text.encode())
        if not isinstance(key, EllipticCurvePublicKey):
            raise ValueError("transit returned a non-EC key for ecdsa-p256")
        return key
    raise ValueError(f"unsupported transit key type {key_type}")


def _jwk(key: KeyVersion) -> dict[str, Any]:
    """One key version as a JWK, built by PyJWT."""
    if isinstance(key.public_key, Ed25519PublicKey):
        jwk = OKPAlgorithm.to_jwk(key.public_key, as_dict=True)
    else:
        jwk = ECAlgorithm.to_jwk(key.public_key, as_dict=True)
    return {**jwk, "kid": key.kid, "alg": key.algorithm, "use": "sig"}
