"""Transit: the PAT signing key, its public versions, signing and rotation."""

from __future__ import annotations

import base64
from typing import Any

from vault_bridge.vault.client import VaultClient


class Transit:
    """Transit operations on one key of one mount."""

    def __init__(self, client: VaultClient, mount: str, key: str) -> None:
        self.client = client
        self.mount = mount
        self.key = key

    def read_key(self) -> dict[str, Any] | None:
        """Read the key: its type, versions and public keys; None when it does not exist.

        Supported methods: GET: /{mount}/keys/{key}
        """
        body = self.client.read(f"{self.mount}/keys/{self.key}")
        return (body or {}).get("data")

    def create_key(self, key_type: str) -> None:
        """Create the key (no-op when it exists; Vault keeps the existing type).

        Supported methods: POST: /{mount}/keys/{key}
        """
        self.client.write(f"{self.mount}/keys/{self.key}", {"type": key_type})

    def sign(self, message: bytes, *, key_version: int) -> tuple[int, str]:
        """Sign ``message`` with a key version; return (version, base64url JWS signature).

        Supported methods: POST: /{mount}/sign/{key}
        """
        body = self.client.write(
            f"{self.mount}/sign/{self.key}",
            {
                "input": base64.b64encode(message).decode("ascii"),
                "key_version": key_version,
                "marshaling_algorithm": "jws",
            },
        )
        signature = ((body or {}).get("data") or {})["signature"]
        prefix, version, value = signature.split(":", 2)
        if prefix != "vault" or not version.startswith("v"):
            raise ValueError("unexpected transit signature format")
        return int(version[1:]), value

    def rotate(self) -> None:
        """Add a new key version; new signatures use it.

        Supported methods: POST: /{mount}/keys/{key}/rotate
        """
        self.client.write(f"{self.mount}/keys/{self.key}/rotate")
