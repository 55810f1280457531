"""Identity entities, their aliases, and groups: one entity per user account, one group per
organization role."""

from __future__ import annotations

from vault_bridge.vault.client import JSON, VaultClient, VaultError, data_of


class Identity:
    """Operations on the identity secrets engine, through hvac's ``secrets.identity``."""

    def __init__(self, client: VaultClient) -> None:
        self.client = client

    def read_entity(self, name: str) -> JSON | None:
        """Read an entity by name; None when absent.

        Supported methods: GET: /identity/entity/name/{name}
        """
        return data_of(
            self.client.call(lambda vault: vault.secrets.identity.read_entity_by_name(name))
        )

    def write_entity(self, name: str, metadata: dict[str, str]) -> JSON:
        """Create or update an entity by name (its metadata only, never its policies) and
        return it (at least its ``id``; ``aliases`` when it existed before).

        Vault answers a creation with the new entity's id (it has no aliases yet), and an
        update with no body: only then is the entity read back.

        Supported methods: POST: /identity/entity/name/{name}
        """
        answer = self.client.call(
            lambda vault: vault.secrets.identity.create_or_update_entity_by_name(
                name, metadata=metadata
            )
        )
        created = data_of(answer) if isinstance(answer, dict) else None
        entity = created if created and created.get("id") else self.read_entity(name)
        if not isinstance((entity or {}).get("id"), str):
            raise VaultError(f"Vault did not keep the entity {name}")
        return {"aliases": [], **(entity or {})}

    def delete_entity(self, name: str) -> None:
        """Delete an entity (and its aliases) by name.

        Supported methods: DELETE: /identity/entity/name/{name}
        """
        self.client.call(lambda vault: vault.secrets.identity.delete_entity_by_name(name))

    def ensure_alias(self, entity: JSON, name: str, mount_accessor: str) -> None:
        """Tie an auth method's login name to an entity (as ``write_entity`` returned it; a
        no-op when the alias exists).

        Supported methods: POST: /identity/entity-alias
        """
        for alias in entity.get("aliases") or []:
            if alias.get("mount_accessor") == mount_accessor and alias.get("name") == name:
                return
        self.client.call(
            lambda vault: vault.secrets.identity.create_or_update_entity_alias(
                name, canonical_id=entity["id"], mount_accessor=mount_accessor
            )
        )

    def read_entity_by_id(self, entity_id: str) -> JSON | None:
        """Read an entity by id; None when absent.

        Supported methods: GET: /identity/entity/id/{id}
        """
        return data_of(
            self.client.call(lambda vault: vault.secrets.identity.read_entity(entity_id))
        )

    def read_group(self, name: str) -> JSON | None:
        """Read a group by name; None when absent.

        Supported methods: GET: /identity/group/name/{name}
        """
        return data_of(
            self.client.call(lambda vault: vault.secrets.identity.read_group_by_name(name))
        )

    def read_group_by_id(self, group_id: str) -> JSON | None:
        """Read a group by id; None when absent.

        Supported methods: GET: /identity/group/id/{id}
        """
        return data_of(self.client.call(lambda vault: vault.secrets.identity.read_group(group_id)))

    def write_group(
        self, name: str, *, metadata: dict[str, str], member_entity_ids: list[str]
    ) -> None:
        """Create or update an internal group by name: its members (replaced) and metadata; its
        policies stay as they are (the reconciler sets them).

        Supported methods: POST: /identity/group/name/{name}
        """
        self.client.call(
            lambda vault: vault.secrets.identity.create_or_update_group_by_name(
                name,
                group_type="internal",
                metadata=metadata,
                member_entity_ids=member_entity_ids,
            )
        )

    def set_group_policy(self, name: str, policy: str) -> None:
        """Give an existing group exactly one policy (the reconciler's one write to a group).

        Supported methods: POST: /identity/group/name/{name}
        """
        self.client.call(
            lambda vault: vault.secrets.identity.create_or_update_group_by_name(
                name,
                group_type="internal",
                # one name as a string: Vault reads it as the whole list, and the reconciler's
                # policy allows organization policy names only
                policies=policy,
            )
        )

    def delete_group(self, name: str) -> None:
        """Delete a group by name.

        Supported methods: DELETE: /identity/group/name/{name}
        """
        self.client.call(lambda vault: vault.secrets.identity.delete_group_by_name(name))
