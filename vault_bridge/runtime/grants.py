"""Run-time grants: resolve which credential a job may use, and hand it out once, wrapped.

A grant is a self-contained statement (job id, user and the identity entity it had, context,
provider, source, expiry) signed with itsdangerous under a key kept in Vault; issuing one needs no
Vault write. Redeeming it creates ``runtime/redeemed/<day>/<id>`` with check-and-set 0 (so it
succeeds once, on whichever replica), re-checks that the user is still the same account (same
entity: a deleted and re-created name inherits no grant) and the membership, and answers with a
Vault response-wrapping token for a read of the credential: the credential itself never passes
through a vault-bridge response.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, TypedDict

from itsdangerous import BadData, URLSafeSerializer

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.directory.users import Directory, User
from vault_bridge.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    VaultBridgeError,
)
from vault_bridge.ids import is_account_id
from vault_bridge.providers.catalog import Catalog
from vault_bridge.timeutil import from_unix, iso
from vault_bridge.vault.client import CasConflict, VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import (
    GRANT_KEY_PATH,
    PLATFORM_OWNER,
    REDEEMED_FOLDER,
    OwnerKind,
    provider_path,
    redeemed_path,
)

JOB_ID_MAX = 128
CACHE_SECONDS = 2.0
CACHE_LIMIT = 10_000  # owners and providers remembered
SALT = "vault-bridge run-time grant"


class GrantGone(VaultBridgeError):
    """The grant was redeemed already or has expired."""

    status = 410
    code = "grant_gone"


@dataclass(frozen=True)
class Grant:
    """What a grant says."""

    id: str
    job_id: str
    user: str
    entity: str  # the account's identity entity when the grant was issued
    context: str | None
    provider: str
    source: str
    expires_at: int

    def owner(self) -> tuple[OwnerKind, str]:
        """Where the credential lives: (kind, owner id)."""
        if self.source == "user":
            return "users", self.user
        if self.source == "organization" and self.context is not None:
            return "orgs", self.context
        return PLATFORM_OWNER

    @classmethod
    def from_claims(cls, claims: object) -> Grant:
        """A grant from its signed claims (which this service wrote)."""
        if not isinstance(claims, dict):
            raise ValueError("grant claims must be an object")
        fields = {field.name for field in dataclasses.fields(cls)}
        if set(claims) != fields:
            raise ValueError("grant claims do not match")
        grant = cls(**claims)
        if (
            not isinstance(grant.expires_at, int)
            or not is_account_id(grant.user)
            or not isinstance(grant.entity, str)
            or not grant.entity
        ):
            raise ValueError("grant claims are malformed")
        return grant


class IssuedGrant(TypedDict):
    """The answer to a grant request."""

    grant: str
    expires_at: str
    source: str
    provider: str
    job_id: str


class Redeemed(TypedDict):
    """The answer to a redeem: a wrapping token, never the credential."""

    wrap_token: str
    wrap_ttl: int
    provider: str
    source: str
    job_id: str


def check_job_id(value: object) -> str:
    """A job id: 1-128 printable ASCII characters without spaces."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= JOB_ID_MAX
        or not all(33 <= ord(ch) < 127 for ch in value)
    ):
        raise BadRequest("job_id must be 1-128 printable characters", code="invalid_job_id")
    return value


class RuntimeGrants:
    """Issue and redeem run-time grants."""

    def __init__(
        self,
        client: VaultClient,
        settings: Settings,
        catalog: Catalog,
        directory: Directory,
        audit: AuditLog,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.directory = directory
        self.audit = audit
        self.kv = KV(client, settings.kv_mount)
        self._serializer: URLSafeSerializer | None = None
        self._configured: dict[tuple[str, str, str], tuple[float, bool]] = {}
        self._lock = threading.Lock()
        self._next_prune = 0.0

    # -- issue ---------------------------------------------------------------------------------

    def resolve(self, user: str, context: str | None, provider_id: str) -> str:
        """The source (user, organization, platform) of the credential a job would use."""
        candidates: list[tuple[str, OwnerKind, str]] = []
        if context is None:
            candidates.append(("user", "users", user))
        else:
            candidates.append(("organization", "orgs", context))
        candidates.append(("platform", *PLATFORM_OWNER))
        for source, kind, owner in candidates:
            if self._is_configured(kind, owner, provider_id):
                return source
        label = self.catalog.providers[provider_id].label
        where = f"organization {context}" if context else f"your personal account ({user})"
        raise NotFound(
            f"no {label} token is configured for {where}, and the platform has no default",
            code="provider_token_missing",
        )

    def _is_configured(self, kind: OwnerKind, owner: str, provider_id: str) -> bool:
        key = (kind, owner, provider_id)
        cached = self._configured.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        configured = KV.is_live(self.kv.read_metadata(provider_path(kind, owner, provider_id)))
        if len(self._configured) >= CACHE_LIMIT:  # bounded: the entries live seconds anyway
            self._configured.clear()
        self._configured[key] = (time.monotonic() + CACHE_SECONDS, configured)
        return configured

    def issue(
        self, account: User, context: str | None, provider_id: object, job_id: object
    ) -> IssuedGrant:
        """A grant for one job of ``account``, bound to its entity; membership and scopes were
        checked by the caller just now."""
        user = account.id
        provider = self.catalog.get(provider_id)
        checked_job = check_job_id(job_id)
        source = self.resolve(user, context, provider.id)
        grant = Grant(
            id=secrets.token_hex(16),
            job_id=checked_job,
            user=user,
            entity=account.entity_id,
            context=context,
            provider=provider.id,
            source=source,
            expires_at=int(time.time()) + self.settings.grant_ttl,
        )
        sealed = self.seal(grant)
        self.audit.record(
            "grant.issue",
            actor=user,
            target=checked_job,
            owner=context or user,
            provider=provider.id,
            source=source,
            grant_id=grant.id,
        )
        return {
            "grant": sealed,
            "expires_at": iso(from_unix(grant.expires_at)) or "",
            "source": source,
            "provider": provider.id,
            "job_id": checked_job,
        }

    def seal(self, grant: Grant) -> str:
        """The grant as the opaque string clients carry."""
        return self._signer().dumps(dataclasses.asdict(grant))

    def _signer(self) -> URLSafeSerializer:
        if self._serializer is not None:
            return self._serializer
        with self._lock:
            if self._serializer is None:
                secret = self.kv.read(GRANT_KEY_PATH)
                if secret is None:
                    with contextlib.suppress(CasConflict):  # another replica created it
                        self.kv.write(GRANT_KEY_PATH, {"key": secrets.token_urlsafe(48)}, cas=0)
                    secret = self.kv.read(GRANT_KEY_PATH)
                if secret is None:
                    raise ServiceUnavailable(
                        "cannot read the grant signing key", code="not_bootstrapped"
                    )
                self._serializer = URLSafeSerializer(str(secret.data["key"]), salt=SALT)
        return self._serializer

    def parse(self, sealed: str) -> Grant:
        """Check a grant's signature and expiry; 400 when malformed, 410 when expired."""
        try:
            grant = Grant.from_claims(self._signer().loads(sealed))
        except (BadData, ValueError, TypeError):
            raise BadRequest(
                "grant is malformed or was not issued here", code="invalid_grant"
            ) from None
        if time.time() >= grant.expires_at:
            raise GrantGone("the grant has expired; submit the job again", code="grant_expired")
        return grant

    # -- markers -------------------------------------------------------------------------------

    def prune_markers(self, force: bool = False) -> int:
        """Delete redeemed-grant markers of days whose grants have all expired (grants live at
        most a day); at most once an hour per replica unless ``force``. Returns folders deleted."""
        now = time.monotonic()
        if not force and now < self._next_prune:
            return 0
        self._next_prune = now + 3600
        oldest_kept = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
        deleted = 0
        for key in self.kv.list(REDEEMED_FOLDER):
            day = key.rstrip("/")
            if key.endswith("/") and day < oldest_kept:
                self.kv.destroy_tree(f"{REDEEMED_FOLDER}/{day}")
                deleted += 1
        return deleted

    # -- redeem --------------------------------------------------------------------------------

    def redeem(self, sealed: str, runner: str) -> Redeemed:
        """Redeem once, for the runner with Vault token accessor ``runner``: a wrapping token
        (TTL at most 60 s) for the credential's read."""
        grant = self.parse(sealed)
        user = self.directory.active_user(grant.user)
        if user is not None and user.entity_id != grant.entity:
            self.directory.forget(grant.user)  # this replica's copy may predate a re-creation
            user = self.directory.active_user(grant.user)
        if user is None or user.entity_id != grant.entity:
            # gone, disabled, or deleted and the name taken again: not the grant's account
            raise Forbidden("the job's user no longer exists", code="user_not_found")
        if grant.context is not None and grant.context not in user.memberships:
            raise Forbidden(
                f"{grant.user} is no longer a member of {grant.context}", code="not_a_member"
            )
        day = time.strftime("%Y-%m-%d", time.gmtime(grant.expires_at))
        marker: dict[str, Any] = {"job_id": grant.job_id, "runner": runner, "at": int(time.time())}
        try:
            self.kv.write(redeemed_path(day, grant.id), marker, cas=0)
        except CasConflict:
            raise GrantGone("the grant was redeemed already", code="grant_redeemed") from None
        kind, owner = grant.owner()
        info = self.kv.read_wrapped(
            provider_path(kind, owner, grant.provider), self.settings.wrap_ttl
        )
        if not info:
            raise Conflict(
                f"the {grant.provider} token was deleted after the job was accepted",
                code="provider_token_missing",
            )
        self.prune_markers()
        self.audit.record(
            "grant.redeem",
            actor=f"runner:{runner[:8]}",
            target=grant.job_id,
            owner=grant.context or grant.user,
            user=grant.user,
            provider=grant.provider,
            source=grant.source,
            grant_id=grant.id,
        )
        return {
            "wrap_token": str(info["token"]),
            "wrap_ttl": int(info["ttl"]),
            "provider": grant.provider,
            "source": grant.source,
            "job_id": grant.job_id,
        }
