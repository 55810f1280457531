"""Identity entities and their aliases: one entity per user account."""

from __future__ import annotations

from typing import Any

from vault_bridge.vault.client import VaultClient


class Identity:
    """Entity operations on the identity secrets engine."""

    def __init__(self, client: VaultClient) -> None:
        self.client = client

    def read_entity(self, name: str) -> dict[str, Any] | None:
        """Read an entity by name; None when absent.

        Supported methods: GET: /identity/entity/name/{name}
        """
        body = self.client.read(f"identity/entity/name/{name}")
        return (body or {}).get("data")

    def write_entity(self, name: str, metadata: dict[str, str], policies: list[str]) -> str:
        """Create or update an entity by name and return its id.

        Supported methods: POST: /identity/entity/name/{name}
        """
        self.client.write(
            f"identity/entity/name/{name}", {"metadata": metadata, "policies": policies}
        )
        entity = self.read_entity(name)
        return (entity or {})["id"]

    def delete_entity(self, name: str) -> None:
        """Delete an entity (and its aliases) by name.

        Supported methods: DELETE: /identity/entity/name/{name}
        """
        self.client.delete(f"identity/entity/name/{name}")

    def ensure_alias(self, entity_id: str, name: str, mount_accessor: str) -> None:
        """Tie an auth method's login name to an entity (no-op when the alias exists).

        Supported methods: POST: /identity/entity-alias
        """
        entity = self.client.read(f"identity/entity/id/{entity_id}")
        for alias in ((entity or {}).get("data") or {}).get("aliases") or []:
            if alias.get("mount_accessor") == mount_accessor and alias.get("name") == name:
                return
        self.client.write(
            "identity/entity-alias",
            {"name": name, "canonical_id": entity_id, "mount_accessor": mount_accessor},
        )

    def read_entity_by_id(self, entity_id: str) -> dict[str, Any] | None:
        """Read an entity by id; None when absent.

        Supported methods: GET: /identity/entity/id/{id}
        """
        body = self.client.read(f"identity/entity/id/{entity_id}")
        return (body or {}).get("data")

    def read_group(self, name: str) -> dict[str, Any] | None:
        """Read a group by name; None when absent.

        Supported methods: GET: /identity/group/name/{name}
        """
        body = self.client.read(f"identity/group/name/{name}")
        return (body or {}).get("data")

    def read_group_by_id(self, group_id: str) -> dict[str, Any] | None:
        """Read a group by id; None when absent.

        Supported methods: GET: /identity/group/id/{id}
        """
        body = self.client.read(f"identity/group/id/{group_id}")
        return (body or {}).get("data")

    def write_group(
        self, name: str, *, policy: str, metadata: dict[str, str], member_entity_ids: list[str]
    ) -> None:
        """Create or update an internal group by name (one policy, members replaced).

        Supported methods: POST: /identity/group/name/{name}
        """
        self.client.write(
            f"identity/group/name/{name}",
            {
                "type": "internal",
                "policies": policy,  # a string: the service policy only allows org policies
                "metadata": metadata,
                "member_entity_ids": member_entity_ids,
            },
        )

    def delete_group(self, name: str) -> None:
        """Delete a group by name.

        Supported methods: DELETE: /identity/group/name/{name}
        """
        self.client.delete(f"identity/group/name/{name}")
