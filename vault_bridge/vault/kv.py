"""KV version 2: secrets, their custom metadata, and check-and-set writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault_bridge.vault.client import VaultClient


@dataclass(frozen=True)
class Secret:
    """One version of a KV v2 secret."""

    data: dict[str, Any]
    version: int
    custom_metadata: dict[str, str]


class KV:
    """KV v2 operations on one mount."""

    def __init__(self, client: VaultClient, mount: str) -> None:
        self.client = client
        self.mount = mount

    def read(self, path: str) -> Secret | None:
        """Read the latest version; None when absent or its latest version is deleted.

        Supported methods: GET: /{mount}/data/{path}
        """
        body = self.client.read(f"{self.mount}/data/{path}")
        if not body or not body.get("data") or body["data"].get("data") is None:
            return None
        meta = body["data"].get("metadata") or {}
        return Secret(
            data=body["data"]["data"],
            version=int(meta.get("version") or 0),
            custom_metadata=meta.get("custom_metadata") or {},
        )

    def read_wrapped(self, path: str, wrap_ttl: int) -> dict[str, Any] | None:
        """Read the latest version through response wrapping: returns ``wrap_info`` (its token
        unwraps once, within ``wrap_ttl`` seconds), None when the secret does not exist.

        Supported methods: GET: /{mount}/data/{path} with X-Vault-Wrap-TTL
        """
        body = self.client.request("GET", f"{self.mount}/data/{path}", wrap_ttl=f"{wrap_ttl}s")
        return (body or {}).get("wrap_info")

    def write(self, path: str, data: dict[str, Any], *, cas: int | None = None) -> int:
        """Write a new version and return its number; ``cas=0`` creates only, ``cas=n`` updates v n.

        Supported methods: POST: /{mount}/data/{path}
        """
        body: dict[str, Any] = {"data": data}
        if cas is not None:
            body["options"] = {"cas": cas}
        result = self.client.write(f"{self.mount}/data/{path}", body)
        return int(((result or {}).get("data") or {}).get("version") or 0)

    def write_metadata(self, path: str, custom_metadata: dict[str, str]) -> None:
        """Replace the custom metadata of a secret.

        Supported methods: POST: /{mount}/metadata/{path}
        """
        self.client.write(f"{self.mount}/metadata/{path}", {"custom_metadata": custom_metadata})

    def read_metadata(self, path: str) -> dict[str, Any] | None:
        """Read a secret's metadata (versions, custom metadata); None when absent.

        Supported methods: GET: /{mount}/metadata/{path}
        """
        body = self.client.read(f"{self.mount}/metadata/{path}")
        return (body or {}).get("data")

    @staticmethod
    def is_live(meta: dict[str, Any] | None) -> bool:
        """True when metadata (``read_metadata``) shows a current version that is neither
        soft-deleted (``bao kv delete``) nor destroyed."""
        if not meta or not meta.get("current_version"):
            return False
        latest = (meta.get("versions") or {}).get(str(meta["current_version"])) or {}
        return not latest.get("deletion_time") and not latest.get("destroyed")

    def list(self, path: str) -> list[str]:
        """List the keys below a folder ('name' for secrets, 'name/' for sub-folders).

        Supported methods: LIST: /{mount}/metadata/{path}
        """
        return self.client.list(f"{self.mount}/metadata/{path}")

    def destroy(self, path: str) -> None:
        """Delete a secret with all of its versions and metadata.

        Supported methods: DELETE: /{mount}/metadata/{path}
        """
        self.client.delete(f"{self.mount}/metadata/{path}")

    def destroy_tree(self, folder: str) -> None:
        """Delete every secret below a folder, recursively."""
        for key in self.list(folder):
            child = f"{folder.rstrip('/')}/{key}"
            if key.endswith("/"):
                self.destroy_tree(child)
            else:
                self.destroy(child)
