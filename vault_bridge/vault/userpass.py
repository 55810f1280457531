"""Userpass auth: account passwords are checked by Vault, never stored by the service."""

from __future__ import annotations

from vault_bridge.errors import Unauthenticated
from vault_bridge.vault.client import JSON, VaultClient, VaultError, data_of, keys_of

LOGIN_TTL = "15m"  # of the Vault token an account's login gets (the service revokes its own)


class Userpass:
    """Operations on one userpass mount, through hvac's ``auth.userpass``."""

    def __init__(self, client: VaultClient, mount: str) -> None:
        self.client = client
        self.mount = mount
        self._accessor: str | None = None

    def write_user(
        self, name: str, *, password: str | None, policy: str, password_hash: str | None = None
    ) -> None:
        """Create or update an account; ``password=None`` keeps the current one.

        ``password_hash`` gives the password as a bcrypt hash instead (OpenBao hashes a plain
        password itself, at its own cost).

        Supported methods: POST: /auth/{mount}/users/{name}
        """
        # only the parameters given: the service policy allows exactly "password",
        # "token_policies" and "token_ttl", and a null "password_hash" is still a parameter
        extra = {} if password_hash is None else {"password_hash": password_hash}
        self.client.call(
            lambda vault: vault.auth.userpass.create_or_update_user(
                name,
                password=password,  # None: left out, the current password stays
                mount_point=self.mount,
                # one policy as a string: the service policy allows exactly this value
                token_policies=policy,
                token_ttl=LOGIN_TTL,
                **extra,
            )
        )

    def read_user(self, name: str) -> JSON | None:
        """Read an account's settings (never the password); None when absent.

        Supported methods: GET: /auth/{mount}/users/{name}
        """
        return data_of(
            self.client.call(
                lambda vault: vault.auth.userpass.read_user(name, mount_point=self.mount)
            )
        )

    def list_users(self) -> list[str]:
        """List account names.

        Supported methods: LIST: /auth/{mount}/users
        """
        return keys_of(
            self.client.call(lambda vault: vault.auth.userpass.list_user(mount_point=self.mount))
        )

    def delete_user(self, name: str) -> None:
        """Delete an account.

        Supported methods: DELETE: /auth/{mount}/users/{name}
        """
        self.client.call(
            lambda vault: vault.auth.userpass.delete_user(name, mount_point=self.mount)
        )

    def check_password(self, name: str, password: str) -> None:
        """Log in as the user to check the password, then revoke the token at once.

        Supported methods: POST: /auth/{mount}/login/{name}
        Raises Unauthenticated when Vault refuses the credentials.
        """
        refused = Unauthenticated("invalid username or password", code="invalid_credentials")
        try:
            body = self.client.call(
                lambda vault: vault.auth.userpass.login(
                    name, password, use_token=False, mount_point=self.mount
                ),
                authenticated=False,
            )
        except VaultError:  # 400 wrong password, 403 locked out, ...
            raise refused from None
        token = ((body or {}).get("auth") or {}).get("client_token")
        if not isinstance(token, str) or not token:
            raise refused
        self.client.call(lambda vault: vault.auth.token.revoke_self(), token=token)

    def mount_accessor(self) -> str:
        """Return the accessor of this mount (needed for identity aliases); read once, as a
        mount keeps its accessor for as long as it exists.

        Supported methods: GET: /sys/auth
        """
        if self._accessor is None:
            body = self.client.call(lambda vault: vault.sys.list_auth_methods()) or {}
            mounts = data_of(body) or body
            accessor = (mounts.get(f"{self.mount}/") or {}).get("accessor")
            if not isinstance(accessor, str):
                raise VaultError(f"no userpass auth method at {self.mount}/")
            self._accessor = accessor
        return self._accessor
