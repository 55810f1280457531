"""The token auth method: look up a caller's Vault token."""

from __future__ import annotations

from typing import Any

from vault_bridge.vault.client import VaultClient


def lookup_self(client: VaultClient, token: str) -> dict[str, Any]:
    """Look up ``token`` with itself (any live token may): policies, TTL, accessor.

    Supported methods: GET: /auth/token/lookup-self
    Raises VaultForbidden when the token is invalid or expired.
    """
    body = client.request("GET", "auth/token/lookup-self", token=token)
    return (body or {}).get("data") or {}
