"""Job runners authenticate with their own Vault token (``X-Vault-Token``), checked at Vault."""

from __future__ import annotations

import hashlib
import re
import time

from vault_bridge.errors import Forbidden, Unauthenticated
from vault_bridge.vault.client import VaultClient, VaultForbidden
from vault_bridge.vault.names import RUNNER_POLICY
from vault_bridge.vault.tokens import lookup_self

CACHE_SECONDS = 2.0
CACHE_LIMIT = 10_000
# Vault and OpenBao tokens are short printable ASCII ("hvs.", "s.", "b." + base62 and the like)
TOKEN_SHAPE = re.compile(r"[\x21-\x7e]{1,512}")


class RunnerTokens:
    """Checks that a Vault token is live and carries the runner policy (cached briefly)."""

    def __init__(self, client: VaultClient) -> None:
        self.client = client
        self._seen: dict[str, tuple[float, str]] = {}  # sha256(token) -> (until, accessor)

    def check(self, token: str | None) -> str:
        """The token's accessor; 401 when missing or invalid, 403 when not a runner's."""
        if not token:
            raise Unauthenticated(
                "a job runner's Vault token is required in X-Vault-Token",
                code="runner_token_missing",
            )
        invalid = Unauthenticated(
            "the runner's Vault token is invalid or expired", code="runner_token_invalid"
        )
        if not TOKEN_SHAPE.fullmatch(token):
            raise invalid  # never sent on to Vault: it could not be a header there either
        digest = hashlib.sha256(token.encode()).hexdigest()
        cached = self._seen.get(digest)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        try:
            data = lookup_self(self.client, token)
        except VaultForbidden:
            raise invalid from None
        policies = set(data.get("policies") or []) | set(data.get("identity_policies") or [])
        if RUNNER_POLICY not in policies:
            raise Forbidden(
                "this Vault token is not a job runner's (policy vault-bridge-runner)",
                code="not_a_runner",
            )
        ttl = float(data.get("ttl") or 0)
        until = time.monotonic() + min(CACHE_SECONDS, ttl if ttl > 0 else CACHE_SECONDS)
        if len(self._seen) >= CACHE_LIMIT:
            self._seen.clear()
        accessor = str(data.get("accessor") or "")
        self._seen[digest] = (until, accessor)
        return accessor
