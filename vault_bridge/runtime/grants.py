"""Run-time grants: resolve which credential a job may use, and hand it out once, wrapped.

A grant is a self-contained, HMAC-signed statement (job id, user, context, provider, source,
expiry); issuing one needs no Vault write. Redeeming it creates ``runtime/redeemed/<day>/<id>``
with check-and-set 0 (so it succeeds once, on whichever replica), re-checks the user and the
membership, and answers with a Vault response-wrapping token for a read of the credential: the
credential itself never passes through a vault-bridge response.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from vault_bridge.audit import AuditLog
from vault_bridge.bootstrap import RUNNER_POLICY
from vault_bridge.config import Settings
from vault_bridge.directory.users import Directory
from vault_bridge.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthenticated,
    VaultBridgeError,
)
from vault_bridge.ids import check_account_id
from vault_bridge.providers.catalog import Catalog
from vault_bridge.vault.client import CasConflict, VaultClient, VaultForbidden
from vault_bridge.vault.kv import KV
from vault_bridge.vault.records import REDEEMED_FOLDER, provider_path, redeemed_path
from vault_bridge.vault.tokens import lookup_self

GRANT_KEY_PATH = "config/grants"
PLATFORM = ("platform", "default")  # platform defaults: platform/default/provider-access-tokens/<p>
JOB_ID_MAX = 128
CACHE_SECONDS = 2.0


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
    context: str | None
    provider: str
    source: str
    expires_at: int

    def owner(self) -> tuple[str, str]:
        """Where the credential lives: (kind, owner id)."""
        if self.source == "user":
            return "users", self.user
        if self.source == "organization":
            assert self.context is not None
            return "orgs", self.context
        return PLATFORM


def check_job_id(value: object) -> str:
    """A job id: 1-128 printable ASCII characters without spaces."""
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= JOB_ID_MAX
        or not all(33 <= ord(ch) < 127 for ch in value)
    ):
        raise BadRequest("job_id must be 1-128 printable characters", code="invalid_job_id")
    return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


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
        self.client = client
        self.settings = settings
        self.catalog = catalog
        self.directory = directory
        self.audit = audit
        self.kv = KV(client, settings.kv_mount)
        self._key: bytes | None = None
        self._configured: dict[tuple[str, str, str], tuple[float, bool]] = {}
        self._runners: dict[str, tuple[float, str]] = {}  # sha256(token) -> (until, accessor)
        self._lock = threading.Lock()
        self._next_prune = 0.0

    # -- issue ---------------------------------------------------------------------------------

    def resolve(self, user: str, context: str | None, provider_id: str) -> tuple[str, str, str]:
        """(source, kind, owner) of the credential a job of ``user`` in ``context`` would use."""
        candidates = []
        if context is None:
            candidates.append(("user", "users", user))
        else:
            candidates.append(("organization", "orgs", context))
        candidates.append(("platform", *PLATFORM))
        for source, kind, owner in candidates:
            if self._is_configured(kind, owner, provider_id):
                return source, kind, owner
        label = self.catalog.providers[provider_id].label
        where = f"organization {context}" if context else f"your personal account ({user})"
        raise NotFound(
            f"no {label} token is configured for {where}, and the platform has no default",
            code="provider_token_missing",
        )

    def _is_configured(self, kind: str, owner: str, provider_id: str) -> bool:
        key = (kind, owner, provider_id)
        cached = self._configured.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        meta = self.kv.read_metadata(provider_path(kind, owner, provider_id))  # type: ignore[arg-type]
        configured = KV.is_live(meta)
        self._configured[key] = (time.monotonic() + CACHE_SECONDS, configured)
        return configured

    def issue(
        self, user: str, context: str | None, provider_id: object, job_id: object
    ) -> dict[str, Any]:
        """A grant for one job; membership and scopes were checked by the caller just now."""
        provider = self.catalog.get(provider_id)
        job_id = check_job_id(job_id)
        source, _, _ = self.resolve(user, context, provider.id)
        expires_at = int(time.time()) + self.settings.grant_ttl
        claims = {
            "gid": secrets.token_hex(16),
            "job": job_id,
            "sub": user,
            "ctx": context,
            "prv": provider.id,
            "src": source,
            "exp": expires_at,
        }
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._grant_key(), payload.encode(), hashlib.sha256).digest())
        self.audit.record(
            "grant.issue",
            actor=user,
            target=job_id,
            owner=context or user,
            provider=provider.id,
            source=source,
            grant_id=claims["gid"],
        )
        return {
            "grant": f"vbg.{payload}.{signature}",
            "expires_at": dt.datetime.fromtimestamp(expires_at, dt.UTC)
            .isoformat()
            .replace("+00:00", "Z"),
            "source": source,
            "provider": provider.id,
            "job_id": job_id,
        }

    def _grant_key(self) -> bytes:
        if self._key is not None:
            return self._key
        with self._lock:
            if self._key is None:
                secret = self.kv.read(GRANT_KEY_PATH)
                if secret is None:
                    with contextlib.suppress(CasConflict):  # another replica created it
                        self.kv.write(GRANT_KEY_PATH, {"key": secrets.token_urlsafe(48)}, cas=0)
                    secret = self.kv.read(GRANT_KEY_PATH)
                if secret is None:
                    raise ServiceUnavailable(
                        "cannot read the grant signing key", code="not_bootstrapped"
                    )
                self._key = secret.data["key"].encode()
        return self._key

    def parse(self, grant: object) -> Grant:
        """Check a grant's signature and expiry; 400 when malformed, 410 when expired."""
        if not isinstance(grant, str) or len(grant) > 2048 or grant.count(".") != 2:
            raise BadRequest("grant is malformed", code="invalid_grant")
        prefix, payload, signature = grant.split(".")
        expected = _b64(hmac.new(self._grant_key(), payload.encode(), hashlib.sha256).digest())
        if prefix != "vbg" or not hmac.compare_digest(signature, expected):
            raise BadRequest("grant is malformed or was not issued here", code="invalid_grant")
        claims = json.loads(_unb64(payload))
        found = Grant(
            id=claims["gid"],
            job_id=claims["job"],
            user=claims["sub"],
            context=claims["ctx"],
            provider=claims["prv"],
            source=claims["src"],
            expires_at=int(claims["exp"]),
        )
        if time.time() >= found.expires_at:
            raise GrantGone("the grant has expired; submit the job again", code="grant_expired")
        return found

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

    def check_runner(self, token: str | None) -> str:
        """Check that ``token`` is a live Vault token carrying the runner policy; its accessor."""
        if not token:
            raise Unauthenticated(
                "a job runner's Vault token is required in X-Vault-Token",
                code="runner_token_missing",
            )
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._runners.get(digest)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        try:
            data = lookup_self(self.client, token)
        except VaultForbidden:
            raise Unauthenticated(
                "the runner's Vault token is invalid or expired", code="runner_token_invalid"
            ) from None
        policies = set(data.get("policies") or []) | set(data.get("identity_policies") or [])
        if RUNNER_POLICY not in policies:
            raise Forbidden(
                "this Vault token is not a job runner's (policy vault-bridge-runner)",
                code="not_a_runner",
            )
        ttl = float(data.get("ttl") or 0)
        until = time.monotonic() + min(CACHE_SECONDS, ttl if ttl > 0 else CACHE_SECONDS)
        self._runners[digest] = (until, str(data.get("accessor") or ""))
        return self._runners[digest][1]

    def redeem(self, grant_text: object, runner_token: str | None) -> dict[str, Any]:
        """Redeem once: a wrapping token (TTL at most 60 s) for the credential's read."""
        accessor = self.check_runner(runner_token)
        grant = self.parse(grant_text)
        user = self.directory.active_user(check_account_id(grant.user))
        if user is None:
            raise Forbidden("the job's user no longer exists", code="user_not_found")
        if grant.context is not None and grant.context not in user.memberships:
            raise Forbidden(
                f"{grant.user} is no longer a member of {grant.context}", code="not_a_member"
            )
        day = time.strftime("%Y-%m-%d", time.gmtime(grant.expires_at))
        try:
            self.kv.write(
                redeemed_path(day, grant.id),
                {"job_id": grant.job_id, "runner": accessor, "at": int(time.time())},
                cas=0,
            )
        except CasConflict:
            raise GrantGone("the grant was redeemed already", code="grant_redeemed") from None
        kind, owner = grant.owner()
        info = self.kv.read_wrapped(
            provider_path(kind, owner, grant.provider),  # type: ignore[arg-type]
            self.settings.wrap_ttl,
        )
        if not info:
            raise Conflict(
                f"the {grant.provider} token was deleted after the job was accepted",
                code="provider_token_missing",
            )
        self.prune_markers()
        self.audit.record(
            "grant.redeem",
            actor=f"runner:{accessor[:8]}",
            target=grant.job_id,
            owner=grant.context or grant.user,
            user=grant.user,
            provider=grant.provider,
            source=grant.source,
            grant_id=grant.id,
        )
        return {
            "wrap_token": info["token"],
            "wrap_ttl": int(info["ttl"]),
            "provider": grant.provider,
            "source": grant.source,
            "job_id": grant.job_id,
        }
