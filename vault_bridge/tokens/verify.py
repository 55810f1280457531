"""Verify a PAT: pinned algorithm, every claim, issuer, audience, expiry, then the denylist.

A token seen before is answered from memory (its claims were verified then); the expiry, the
denylist and the signing key version are checked on every call, so a cached token never outlives
its revocation nor the retirement of the key that signed it (``min_decryption_version``, within
the key refresh bound of ``SigningKeys``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import jwt

from vault_bridge import scopes
from vault_bridge.errors import Unauthenticated
from vault_bridge.ids import is_account_id, is_token_id
from vault_bridge.tokens.denylist import Denylist
from vault_bridge.tokens.keys import SigningKeys
from vault_bridge.tokens.signing import REQUIRED_CLAIMS, TOKEN_TYPE, unverified_header

MAX_TOKEN_LENGTH = 4096
LEEWAY_SECONDS = 5
CACHE_LIMIT = 100_000
ORGS_MAX = 50  # organizations a restricted token may name


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    """A PAT whose signature, claims and revocation state have been checked."""

    token_id: str
    user: str
    scopes: frozenset[str]
    expires_at: int
    issued_at: int
    kid: str = ""  # the signing key version, still accepted or not
    orgs: frozenset[str] | None = None  # the organizations it may act in; None: any of the user's
    personal: bool = True  # may act outside any organization

    def may_act_in(self, org: str | None) -> bool:
        """Whether the token's restriction allows acting in ``org`` (None: personal context)."""
        if org is None:
            return self.personal
        return self.orgs is None or org in self.orgs

    def __repr__(self) -> str:
        return f"VerifiedToken(token_id={self.token_id!r}, user={self.user!r})"


class Verifier:
    """Checks PATs; remembers verified tokens until they expire (bounded).

    ``confirm_fresh`` raises ServiceUnavailable when the denylist cannot be trusted (default: the
    denylist's own staleness check).
    """

    def __init__(
        self,
        keys: SigningKeys,
        denylist: Denylist,
        *,
        issuer: str,
        audience: str,
        confirm_fresh: Callable[[], None] | None = None,
        cache_limit: int = CACHE_LIMIT,
        prefix: str = "",
    ) -> None:
        self.keys = keys
        self.denylist = denylist
        self.issuer = issuer
        self.audience = audience
        self.confirm_fresh = confirm_fresh or denylist.check_fresh
        self.cache_limit = cache_limit
        self.prefix = prefix  # tokens carry it; tokens issued before it existed do not
        self._verified: dict[str, VerifiedToken] = {}

    def verify(self, token: object) -> VerifiedToken:
        """The verified token, or Unauthenticated (503 when revocations cannot be confirmed)."""
        if not isinstance(token, str):
            raise Unauthenticated("missing access token", code="missing_token")
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() >= cached.expires_at + LEEWAY_SECONDS:
                self._verified.pop(token, None)
                raise Unauthenticated("the access token has expired", code="token_expired")
            if not self.keys.accepts(cached.kid):
                self._verified.pop(token, None)  # its key version was retired since
                raise Unauthenticated("the access token is invalid", code="invalid_token")
            verified = cached
        else:
            verified = self.check_signature(token)
        self.confirm_fresh()
        if self.denylist.is_revoked(verified.token_id):
            raise Unauthenticated("the access token has been revoked", code="token_revoked")
        if cached is None:
            self.remember(token, verified)
        return verified

    def remember(self, token: str, verified: VerifiedToken) -> None:
        """Cache a verified token; past ``cache_limit`` the older half is dropped."""
        if len(self._verified) >= self.cache_limit:
            for stale in list(self._verified)[: max(1, self.cache_limit // 2)]:
                self._verified.pop(stale, None)
        self._verified[token] = verified

    def __len__(self) -> int:
        return len(self._verified)

    def check_signature(self, token: str, *, allow_expired: bool = False) -> VerifiedToken:
        """Verify signature and claims (no denylist, no cache); ``allow_expired`` accepts a
        token past its expiry (to revoke a leaked one whatever its state)."""
        invalid = Unauthenticated("the access token is invalid", code="invalid_token")
        if self.prefix and token.startswith(self.prefix):
            token = token[len(self.prefix) :]
        if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
            raise invalid
        header = unverified_header(token)
        if header is None:
            raise invalid
        if header.get("typ") != TOKEN_TYPE or header.get("alg") != self.keys.algorithm:
            raise invalid
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise invalid
        key = self.keys.get(kid)
        if key is None:
            raise invalid
        try:
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": REQUIRED_CLAIMS,
                    "verify_signature": True,
                    "verify_exp": not allow_expired,
                    "verify_nbf": True,
                    "verify_iat": True,
                    "verify_aud": True,
                    "verify_iss": True,
                    "strict_aud": True,
                },
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the access token has expired", code="token_expired") from None
        except jwt.InvalidTokenError:
            raise invalid from None
        scope = claims.get("scope")
        if not isinstance(scope, str):
            raise invalid
        granted = frozenset(scope.split())
        if not granted or not granted <= set(scopes.NAMES):
            raise invalid
        if not is_token_id(claims["jti"]) or not is_account_id(claims["sub"]):
            raise invalid
        orgs = claims.get("orgs")
        if orgs is not None and not (
            isinstance(orgs, list) and len(orgs) <= ORGS_MAX and all(map(is_account_id, orgs))
        ):
            raise invalid
        personal = claims.get("personal", True)
        if not isinstance(personal, bool):
            raise invalid
        return VerifiedToken(
            token_id=claims["jti"],
            user=claims["sub"],
            scopes=granted,
            expires_at=int(claims["exp"]),
            issued_at=int(claims["iat"]),
            orgs=None if orgs is None else frozenset(orgs),
            personal=personal,
            kid=kid,
        )

    def forget(self, token_ids: Collection[str]) -> None:
        """Drop cached verifications of tokens (after revoking them here): one pass."""
        wanted = set(token_ids)
        for token, verified in list(self._verified.items()):
            if verified.token_id in wanted:
                self._verified.pop(token, None)
