"""Who is calling: a PAT (``Authorization: Bearer`` or ``X-Auth-Token``) or a browser session,
optionally acting in an organization (``X-OrganizationId``)."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Literal

from flask import request

from vault_bridge.audit import AuditLog
from vault_bridge.auth.csrf import SAFE_METHODS, check_csrf
from vault_bridge.auth.session import end_session, session_claims
from vault_bridge.directory.sessions import SessionStore
from vault_bridge.directory.users import Directory, User
from vault_bridge.errors import BadRequest, Forbidden, Unauthenticated, VaultBridgeError
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
    """The PAT sent with the request, if any; 400 ``ambiguous_credentials`` when
    ``Authorization`` and ``X-Auth-Token`` both carry one and they differ."""
    header = request.headers.get("Authorization")
    sent = request.headers.get("X-Auth-Token")
    bearer = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'", code="invalid_token")
        bearer = value.strip()
    if sent is None:
        return bearer
    if bearer is not None and sent.strip() != bearer:
        raise BadRequest(
            "Authorization and X-Auth-Token carry different tokens: send one",
            code="ambiguous_credentials",
        )
    return sent.strip()


class Authenticator:
    """Resolves the caller of the current request: one place for every route."""

    def __init__(
        self,
        tokens: TokenService,
        directory: Directory,
        sessions: SessionStore,
        audit: AuditLog,
        metrics: Metrics,
        session_lifetime: float,
    ) -> None:
        self.tokens = tokens
        self.directory = directory
        self.sessions = sessions
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
            self._check_token_reach(principal.token, org or None, principal.user)
        return principal

    def _check_token_reach(self, token: VerifiedToken, org: str | None, user: User) -> None:
        """A PAT acts only where its restriction allows and where no organization blocked it:
        in the request's context (X-OrganizationId) and in an organization the path names.
        The use is noted for last use, and for the owners of the organizations it acts in that
        the user belongs to (a path may name any organization; the route refuses the others)."""
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
        self.tokens.touch(
            token,
            request.remote_addr,
            [p for p in places if p and p in user.memberships],
            on_first_use=lambda: self.audit.record(  # the address counts once this is written
                "pat.use",
                actor=token.user,
                target=token.token_id,
                owner=token.user,
                note="first use from this address",
            ),
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
        user = self.session_user()
        if request.method not in SAFE_METHODS:
            check_csrf()
        return Principal(user=user, via="session")

    def session_user(self) -> User:
        """The account of this request's session: the cookie names a session whose record still
        exists and belongs to the account's current entity (Unauthenticated otherwise)."""
        claims = session_claims(self.session_lifetime)
        if claims is None:
            raise Unauthenticated("authentication required", code="unauthenticated")
        user_id, session_id = claims
        user = self.directory.active_user(user_id)
        if user is None:
            self._end_all(user_id)  # disabled or deleted: its sessions end for good
            end_session()
            raise Unauthenticated("the session's user no longer exists", code="user_not_found")
        owner = self.sessions.owner(user_id, session_id)
        if owner is not None and owner != user.entity_id:
            # a session of a newer account than this replica has cached (re-created name)?
            self.directory.forget(user_id)
            user = self.directory.active_user(user_id)
        if owner is None or user is None or owner != user.entity_id:
            end_session()
            raise Unauthenticated("the session has ended: sign in again", code="session_ended")
        return user

    def _end_all(self, user_id: str) -> None:
        with contextlib.suppress(VaultBridgeError):  # refused anyway; a later request retries
            self.sessions.end_all(user_id)
