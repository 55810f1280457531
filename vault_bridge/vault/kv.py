"""KV version 2: secrets, their custom metadata, and check-and-set writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vault_bridge.vault.client import JSON, VaultClient, data_of, keys_of


@dataclass(frozen=True)
class Secret:
    """One version of a KV v2 secret."""

    data: dict[str, Any]
    version: int
    custom_metadata: dict[str, str]


class KV:
    """KV v2 operations on one mount, through hvac's ``secrets.kv.v2``."""

    def __init__(self, client: VaultClient, mount: str) -> None:
        self.client = client
        self.mount = mount

    def read(self, path: str) -> Secret | None:
        """Read the latest version; None when absent or its latest version is deleted.

        Supported methods: GET: /{mount}/data/{path}
        """
        body = data_of(
            self.client.call(
                lambda vault: vault.secrets.kv.v2.read_secret_version(
                    path, mount_point=self.mount, raise_on_deleted_version=True
                )
            )
        )
        if body is None or not isinstance(body.get("data"), dict):
            return None
        meta = body.get("metadata") or {}
        return Secret(
            data=body["data"],
            version=int(meta.get("version") or 0),
            custom_metadata=meta.get("custom_metadata") or {},
        )

    def read_wrapped(self, path: str, wrap_ttl: int) -> JSON | None:
        """Read the latest version through response wrapping: returns ``wrap_info`` (its token
        unwraps once, within ``wrap_ttl`` seconds), None when the secret does not exist.

        Supported methods: GET: /{mount}/data/{path} with X-Vault-Wrap-TTL
        """
        # hvac's read_secret_version takes no wrap_ttl; its generic read does
        body = self.client.call(
            lambda vault: vault.read(f"{self.mount}/data/{path}", wrap_ttl=f"{wrap_ttl}s")
        )
        info = (body or {}).get("wrap_info")
        return info if isinstance(info, dict) else None

    def write(self, path: str, data: dict[str, Any], *, cas: int | None = None) -> int:
        """Write a new version and return its number; ``cas=0`` creates only, ``cas=n`` updates v n.

        Supported methods: POST: /{mount}/data/{path}
        """
        body = self.client.call(
            lambda vault: vault.secrets.kv.v2.create_or_update_secret(
                path, data, cas=cas, mount_point=self.mount
            )
        )
        return int((data_of(body) or {}).get("version") or 0)

    def write_metadata(self, path: str, custom_metadata: dict[str, str]) -> None:
        """Replace the custom metadata of a secret (its other settings stay as they are).

        Supported methods: POST: /{mount}/metadata/{path}
        """
        self.client.call(
            lambda vault: vault.secrets.kv.v2.update_metadata(
                path,
                # None: left out (hvac would send "0s" and clear an operator's setting)
                delete_version_after=None,  # type: ignore[arg-type]  # hvac's stub: str only
                custom_metadata=custom_metadata,
                mount_point=self.mount,
            )
        )

    def patch_metadata(self, path: str, custom_metadata: dict[str, str | None]) -> None:
        """Merge into the custom metadata of a secret: keys given are set, keys given as None
        are removed, all others stay (two writers of different keys never undo each other).

        Supported methods: PATCH: /{mount}/metadata/{path} (JSON merge patch)
        """
        # hvac has no metadata patch; its adapter sends the request (errors mapped by call)
        self.client.call(
            lambda vault: vault.adapter.request(
                "PATCH",
                f"/v1/{self.mount}/metadata/{path}",
                json={"custom_metadata": custom_metadata},
                headers={"Content-Type": "application/merge-patch+json"},
            )
        )

    def read_metadata(self, path: str) -> JSON | None:
        """Read a secret's metadata (versions, custom metadata); None when absent.

        Supported methods: GET: /{mount}/metadata/{path}
        """
        return data_of(
            self.client.call(
                lambda vault: vault.secrets.kv.v2.read_secret_metadata(path, mount_point=self.mount)
            )
        )

    @staticmethod
    def is_live(meta: JSON | None) -> bool:
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
        return keys_of(
            self.client.call(
                lambda vault: vault.secrets.kv.v2.list_secrets(path, mount_point=self.mount)
            )
        )

    def destroy(self, path: str) -> None:
        """Delete a secret with all of its versions and metadata.

        Supported methods: DELETE: /{mount}/metadata/{path}
        """
        self.client.call(
            lambda vault: vault.secrets.kv.v2.delete_metadata_and_all_versions(
                path, mount_point=self.mount
            )
        )

    def destroy_tree(self, folder: str) -> None:
        """Delete every secret below a folder, recursively."""
        for key in self.list(folder):
            child = f"{folder.rstrip('/')}/{key}"
            if key.endswith("/"):
                self.destroy_tree(child)
            else:
                self.destroy(child)
