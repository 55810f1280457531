"""Response wrapping: what a job runner does with the token vault-bridge hands it."""

from __future__ import annotations

from vault_bridge.vault.client import JSON, VaultClient, data_of


def unwrap(vault: VaultClient, wrap_token: str) -> JSON:
    """Unwrap a response-wrapping token with the caller's own Vault token (works once).

    Supported methods: POST: /sys/wrapping/unwrap
    """
    return data_of(vault.call(lambda client: client.sys.unwrap(wrap_token))) or {}
