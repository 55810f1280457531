"""Who is calling: a PAT (``Authorization: Bearer`` or ``X-Auth-Token``) or a browser session,
optionally acting in an organization (``X-OrganizationId``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from flask import request

from vault_bridge.audit import AuditLog
from vault_bridge.auth.csrf import SAFE_METHODS, check_csrf
from vault_bridge.auth.session import end_session, session_user_id
from vault_bridge.directory.users import Directory, User
from vault_bridge.errors import Forbidden, Unauthenticated, VaultBridgeError
from vault_bridge.ids import check_account_id, is_account_id
from vault_bridge.metrics import Metrics
from vault_bridge.tokens.service import TokenService
from vault_bridge.tokens.verify import VerifiedToken


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


def bearer_token() -> str | None:
    """The PAT sent with the request, if any."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", code="invalid_token")
        return value.strip()
    sent = request.headers.get("X-Auth-Token")
    return None if sent is None else sent.strip()


class Authenticator:
    """Resolves the caller of the current request: one place for every route."""

    def __init__(
        self,
        tokens: TokenService,
        directory: Directory,
        audit: AuditLog,
        metrics: Metrics,
        session_lifetime: float,
    ) -> None:
        self.tokens = tokens
        self.directory = directory
        self.audit = audit
        self.metrics = metrics
        self.session_lifetime = session_lifetime

    def authenticate(self) -> Principal:
        """The caller, or Unauthenticated/Forbidden."""
        token = bearer_token()
        principal = self._by_token(token) if token is not None else self._by_session()
        org = request.headers.get("X-OrganizationId", "").strip()
        if org:
            check_account_id(org, "organization id in X-OrganizationId")
            role = principal.user.memberships.get(org)
            if role is None:
                raise Forbidden(f"you are not a member of organization {org}", code="not_a_member")
            principal = dataclasses.replace(principal, org=org, org_role=role)
        if principal.token is not None:
            self._check_token_reach(principal.token, org or None)
        return principal

    def _check_token_reach(self, token: VerifiedToken, org: str | None) -> None:
        """A PAT acts only where its restriction allows and where no organization blocked it:
        in the request's context (X-OrganizationId) and in an organization the path names.
        The use is noted for last use (and for the owners of the organizations it acts in)."""
        path_org = (request.view_args or {}).get("org")
        places: list[str | None] = [org]
        if isinstance(path_org, str) and is_account_id(path_org) and path_org != org:
            places.append(path_org)
        for place in places:
            if not token.may_act_in(place):
                where = f"organization {place}" if place else "your personal account"
                raise Forbidden(
                    f"this access token is restricted and may not act in {where}",
                    code="token_restricted",
                )
            if place is not None and self.tokens.is_blocked(token.token_id, place):
                raise Forbidden(
                    f"the owners of organization {place} blocked this access token there",
                    code="token_blocked",
                )
        if self.tokens.touch(token, request.remote_addr, [p for p in places if p]):
            self.audit.record(
                "pat.use",
                actor=token.user,
                target=token.token_id,
                owner=token.user,
                note="first use from this address",
            )

    def _by_token(self, token: str) -> Principal:
        try:
            verified = self.tokens.verify(token)
            user = self.directory.active_user(verified.user)
            if user is None:
                raise Unauthenticated("the token's user no longer exists", code="user_not_found")
        except VaultBridgeError as exc:
            self.metrics.inc("vault_bridge_token_verifications_total", result=exc.code)
            raise
        self.metrics.inc("vault_bridge_token_verifications_total", result="ok")
        return Principal(user=user, via="pat", token=verified)

    def _by_session(self) -> Principal:
        user_id = session_user_id(self.session_lifetime)
        if user_id is None:
            raise Unauthenticated("authentication required", code="unauthenticated")
        user = self.directory.active_user(user_id)
        if user is None:
            end_session()
            raise Unauthenticated("the session's user no longer exists", code="user_not_found")
        if request.method not in SAFE_METHODS:
            check_csrf()
        return Principal(user=user, via="session")
