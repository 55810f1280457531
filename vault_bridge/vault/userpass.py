"""Userpass auth: account passwords are checked by Vault, never stored by the service."""

from __future__ import annotations

from typing import Any

from vault_bridge.errors import Unauthenticated
from vault_bridge.vault.client import VaultClient, VaultError, VaultForbidden, VaultInvalidRequest


class Userpass:
    """Operations on one userpass mount."""

    def __init__(self, client: VaultClient, mount: str) -> None:
        self.client = client
        self.mount = mount

    def write_user(self, name: str, *, password: str | None, policy: str) -> None:
        """Create or update an account; ``password=None`` keeps the current one.

        Supported methods: POST: /auth/{mount}/users/{name}
        """
        # one policy as a string: the service policy allows exactly this value and no other
        data: dict[str, Any] = {"token_policies": policy, "token_ttl": "15m"}
        if password is not None:
            data["password"] = password
        self.client.write(f"auth/{self.mount}/users/{name}", data)

    def read_user(self, name: str) -> dict[str, Any] | None:
        """Read an account's settings (never the password); None when absent.

        Supported methods: GET: /auth/{mount}/users/{name}
        """
        body = self.client.read(f"auth/{self.mount}/users/{name}")
        return (body or {}).get("data")

    def list_users(self) -> list[str]:
        """List account names.

        Supported methods: LIST: /auth/{mount}/users
        """
        return self.client.list(f"auth/{self.mount}/users")

    def delete_user(self, name: str) -> None:
        """Delete an account.

        Supported methods: DELETE: /auth/{mount}/users/{name}
        """
        self.client.delete(f"auth/{self.mount}/users/{name}")

    def check_password(self, name: str, password: str) -> None:
        """Log in as the user to check the password, then revoke the token at once.

        Supported methods: POST: /auth/{mount}/login/{name}
        Raises Unauthenticated when Vault refuses the credentials.
        """
        try:
            body = self.client.request(
                "POST",
                f"auth/{self.mount}/login/{name}",
                json={"password": password},
                authenticated=False,
            )
        except (VaultInvalidRequest, VaultForbidden, VaultError):
            raise Unauthenticated(
                "invalid username or password", code="invalid_credentials"
            ) from None
        token = ((body or {}).get("auth") or {}).get("client_token")
        if not token:
            raise Unauthenticated("invalid username or password", code="invalid_credentials")
        self.client.request("POST", "auth/token/revoke-self", token=token)

    def mount_accessor(self) -> str:
        """Return the accessor of this mount (needed for identity aliases).

        Supported methods: GET: /sys/auth
        """
        body = self.client.read("sys/auth") or {}
        mounts = body.get("data") or body
        return mounts[f"{self.mount}/"]["accessor"]
