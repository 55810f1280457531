"""The token auth method: look up a caller's Vault token."""

from __future__ import annotations

from vault_bridge.vault.client import JSON, VaultClient, data_of


def lookup_self(client: VaultClient, token: str) -> JSON:
    """Look up ``token`` with itself (any live token may): policies, TTL, accessor.

    Supported methods: GET: /auth/token/lookup-self
    Raises VaultForbidden when the token is invalid or expired.
    """
    return data_of(client.call(lambda vault: vault.auth.token.lookup_self(), token=token)) or {}
