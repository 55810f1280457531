"""Response wrapping: what a job runner does with the token vault-bridge hands it."""

from __future__ import annotations

from typing import Any

from vault_bridge.vault.client import VaultClient


def unwrap(vault: VaultClient, wrap_token: str) -> dict[str, Any]:
    """Unwrap a response-wrapping token with the caller's own Vault token (works once).

    Supported methods: POST: /sys/wrapping/unwrap
    """
    body = vault.request("POST", "sys/wrapping/unwrap", json={"token": wrap_token})
    return (body or {}).get("data") or {}
