"""Transit: the PAT signing key, its public versions, signing and rotation."""

from __future__ import annotations

import base64

from vault_bridge.vault.client import JSON, VaultClient, VaultError, data_of


class Transit:
    """Transit operations on one key of one mount, through hvac's ``secrets.transit``."""

    def __init__(self, client: VaultClient, mount: str, key: str) -> None:
        self.client = client
        self.mount = mount
        self.key = key

    def read_key(self) -> JSON | None:
        """Read the key: its type, versions and public keys; None when it does not exist.

        Supported methods: GET: /{mount}/keys/{key}
        """
        return data_of(
            self.client.call(
                lambda vault: vault.secrets.transit.read_key(self.key, mount_point=self.mount)
            )
        )

    def create_key(self, key_type: str) -> None:
        """Create the key (no-op when it exists; Vault keeps the existing type).

        Supported methods: POST: /{mount}/keys/{key}
        """
        self.client.call(
            lambda vault: vault.secrets.transit.create_key(
                self.key, key_type=key_type, mount_point=self.mount
            )
        )

    def sign(self, message: bytes, *, key_version: int) -> tuple[int, str]:
        """Sign ``message`` with a key version; return (version, base64url JWS signature).

        Supported methods: POST: /{mount}/sign/{key}
        """
        body = self.client.call(
            lambda vault: vault.secrets.transit.sign_data(
                self.key,
                hash_input=base64.b64encode(message).decode("ascii"),
                key_version=key_version,
                marshaling_algorithm="jws",
                mount_point=self.mount,
            )
        )
        signature = str((data_of(body) or {}).get("signature") or "")
        prefix, _, rest = signature.partition(":")
        version, _, value = rest.partition(":")
        if prefix != "vault" or not version.startswith("v") or not version[1:].isdigit():
            raise VaultError("Vault answered a signing request with an unexpected format")
        return int(version[1:]), value

    def rotate(self) -> None:
        """Add a new key version; new signatures use it.

        Supported methods: POST: /{mount}/keys/{key}/rotate
        """
        self.client.call(
            lambda vault: vault.secrets.transit.rotate_key(self.key, mount_point=self.mount)
        )
