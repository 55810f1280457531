"""System backend: mounts, auth methods, policies and AppRoles (bootstrap, doctor); HA state."""

from __future__ import annotations

from typing import Any

from vault_bridge.vault.client import VaultClient


class Sys:
    """sys/* and auth/approle/* operations used to set Vault up."""

    def __init__(self, client: VaultClient) -> None:
        self.client = client

    def mounts(self) -> dict[str, dict[str, Any]]:
        """Secrets engines by path ('name/').

        Supported methods: GET: /sys/mounts
        """
        body = self.client.read("sys/mounts") or {}
        return body.get("data") or body

    def auth_methods(self) -> dict[str, dict[str, Any]]:
        """Auth methods by path ('name/').

        Supported methods: GET: /sys/auth
        """
        body = self.client.read("sys/auth") or {}
        return body.get("data") or body

    def enable_secrets(self, path: str, kind: str, options: dict[str, str] | None = None) -> None:
        """Mount a secrets engine.

        Supported methods: POST: /sys/mounts/{path}
        """
        data: dict[str, Any] = {"type": kind}
        if options:
            data["options"] = options
        self.client.write(f"sys/mounts/{path}", data)

    def enable_auth(self, path: str, kind: str) -> None:
        """Enable an auth method.

        Supported methods: POST: /sys/auth/{path}
        """
        self.client.write(f"sys/auth/{path}", {"type": kind})

    def read_policy(self, name: str) -> str | None:
        """Read an ACL policy's text; None when absent.

        Supported methods: GET: /sys/policies/acl/{name}
        """
        body = self.client.read(f"sys/policies/acl/{name}")
        return ((body or {}).get("data") or {}).get("policy")

    def write_policy(self, name: str, text: str) -> None:
        """Create or replace an ACL policy.

        Supported methods: POST: /sys/policies/acl/{name}
        """
        self.client.write(f"sys/policies/acl/{name}", {"policy": text})

    def write_approle(self, mount: str, role: str, settings: dict[str, Any]) -> None:
        """Create or update an AppRole role.

        Supported methods: POST: /auth/{mount}/role/{role}
        """
        self.client.write(f"auth/{mount}/role/{role}", settings)

    def read_approle(self, mount: str, role: str) -> dict[str, Any] | None:
        """Read an AppRole role's settings; None when absent.

        Supported methods: GET: /auth/{mount}/role/{role}
        """
        return (self.client.read(f"auth/{mount}/role/{role}") or {}).get("data")

    def approle_role_id(self, mount: str, role: str) -> str:
        """Read a role's role_id.

        Supported methods: GET: /auth/{mount}/role/{role}/role-id
        """
        return ((self.client.read(f"auth/{mount}/role/{role}/role-id") or {}).get("data") or {})[
            "role_id"
        ]

    def approle_secret_id(self, mount: str, role: str, *, ttl: str = "") -> str:
        """Generate a new secret_id for a role.

        Supported methods: POST: /auth/{mount}/role/{role}/secret-id
        """
        body = self.client.write(f"auth/{mount}/role/{role}/secret-id", {"ttl": ttl} if ttl else {})
        return ((body or {}).get("data") or {})["secret_id"]

    def leader(self) -> dict[str, Any]:
        """HA and raft state, unauthenticated and so not audited (``raft_applied_index``).

        Supported methods: GET: /sys/leader
        """
        return self.client.request("GET", "sys/leader", authenticated=False) or {}

    def delete_policy(self, name: str) -> None:
        """Delete an ACL policy.

        Supported methods: DELETE: /sys/policies/acl/{name}
        """
        self.client.delete(f"sys/policies/acl/{name}")
