"""System backend and AppRoles: mounts, auth methods, policies and roles (bootstrap, doctor),
and the HA state."""

from __future__ import annotations

from dataclasses import dataclass

from vault_bridge.vault.client import JSON, VaultClient, VaultError, data_of, keys_of


@dataclass(frozen=True)
class RoleSettings:
    """What vault-bridge sets on one of its AppRoles."""

    policies: tuple[str, ...]
    ttl: str  # of the tokens it issues
    max_ttl: str


class Sys:
    """``sys/*`` and ``auth/<approle>/*`` operations, through hvac's ``sys`` and
    ``auth.approle``."""

    def __init__(self, client: VaultClient) -> None:
        self.client = client

    def mounts(self) -> dict[str, JSON]:
        """Secrets engines by path ('name/').

        Supported methods: GET: /sys/mounts
        """
        return _by_path(self.client.call(lambda vault: vault.sys.list_mounted_secrets_engines()))

    def auth_methods(self) -> dict[str, JSON]:
        """Auth methods by path ('name/').

        Supported methods: GET: /sys/auth
        """
        return _by_path(self.client.call(lambda vault: vault.sys.list_auth_methods()))

    def enable_secrets(self, path: str, kind: str, options: dict[str, str] | None = None) -> None:
        """Mount a secrets engine.

        Supported methods: POST: /sys/mounts/{path}
        """
        self.client.call(
            lambda vault: vault.sys.enable_secrets_engine(kind, path=path, options=options)
        )

    def enable_auth(self, path: str, kind: str) -> None:
        """Enable an auth method.

        Supported methods: POST: /sys/auth/{path}
        """
        self.client.call(lambda vault: vault.sys.enable_auth_method(kind, path=path))

    def tune_auth(self, path: str, **settings: object) -> None:
        """Tune an auth method (e.g. ``user_lockout_config``).

        Supported methods: POST: /sys/auth/{path}/tune
        """
        self.client.call(lambda vault: vault.sys.tune_auth_method(path, **settings))

    def read_policy(self, name: str) -> str | None:
        """Read an ACL policy's text; None when absent.

        Supported methods: GET: /sys/policies/acl/{name}
        """
        policy = (
            data_of(self.client.call(lambda vault: vault.sys.read_acl_policy(name))) or {}
        ).get("policy")
        return policy if isinstance(policy, str) else None

    def list_policies(self) -> list[str]:
        """Names of every ACL policy.

        Supported methods: LIST: /sys/policies/acl
        """
        body = self.client.call(lambda vault: vault.sys.list_acl_policies())
        return keys_of(body)

    def write_policy(self, name: str, text: str) -> None:
        """Create or replace an ACL policy.

        Supported methods: PUT: /sys/policies/acl/{name}
        """
        self.client.call(lambda vault: vault.sys.create_or_update_acl_policy(name, text))

    def delete_policy(self, name: str) -> None:
        """Delete an ACL policy.

        Supported methods: DELETE: /sys/policies/acl/{name}
        """
        self.client.call(lambda vault: vault.sys.delete_acl_policy(name))

    def leader(self) -> JSON:
        """HA and raft state (``raft_applied_index``); unauthenticated, so not audited.

        Supported methods: GET: /sys/leader
        """
        return (
            self.client.call(lambda vault: vault.sys.read_leader_status(), authenticated=False)
            or {}
        )

    def write_approle(self, mount: str, role: str, settings: RoleSettings) -> None:
        """Create or update an AppRole role. Its tokens carry its policies and not OpenBao's
        ``default`` policy: nothing of it is needed (each policy grants the token calls its
        holder makes), and that policy is templated, so a token with an entity that holds it
        has it parsed again on every request (about 30 % of the server's CPU per request).

        Supported methods: POST: /auth/{mount}/role/{role}
        """
        self.client.call(
            lambda vault: vault.auth.approle.create_or_update_approle(
                role,
                token_policies=list(settings.policies),
                token_no_default_policy=True,
                token_ttl=settings.ttl,
                token_max_ttl=settings.max_ttl,
                mount_point=mount,
            )
        )

    def read_approle(self, mount: str, role: str) -> JSON | None:
        """Read an AppRole role's settings; None when absent.

        Supported methods: GET: /auth/{mount}/role/{role}
        """
        return data_of(
            self.client.call(lambda vault: vault.auth.approle.read_role(role, mount_point=mount))
        )

    def approle_role_id(self, mount: str, role: str) -> str:
        """Read a role's role_id.

        Supported methods: GET: /auth/{mount}/role/{role}/role-id
        """
        body = self.client.call(
            lambda vault: vault.auth.approle.read_role_id(role, mount_point=mount)
        )
        return _field(body, "role_id", f"AppRole {role}")

    def approle_secret_id(self, mount: str, role: str, *, ttl: str = "") -> str:
        """Generate a new secret_id for a role, valid for ``ttl`` (default: the role's).

        Supported methods: POST: /auth/{mount}/role/{role}/secret-id
        """
        if ttl:  # hvac's generate_secret_id takes no ttl
            body = self.client.write(f"auth/{mount}/role/{role}/secret-id", {"ttl": ttl})
        else:
            body = self.client.call(
                lambda vault: vault.auth.approle.generate_secret_id(role, mount_point=mount)
            )
        return _field(body, "secret_id", f"AppRole {role}")

    def approle_secret_id_known(self, mount: str, role: str, secret_id: str) -> bool:
        """True when Vault still knows the secret_id (not destroyed, role not recreated).

        Supported methods: POST: /auth/{mount}/role/{role}/secret-id/lookup
        """
        body = self.client.call(
            lambda vault: vault.auth.approle.read_secret_id(role, secret_id, mount_point=mount)
        )
        return data_of(body) is not None


def _by_path(body: JSON | None) -> dict[str, JSON]:
    """``{path: settings}`` of a sys/mounts or sys/auth answer (hvac gives data and, for older
    servers, the same at the top level)."""
    listing = data_of(body) or body or {}
    return {path: info for path, info in listing.items() if isinstance(info, dict)}


def _field(body: JSON | None, name: str, what: str) -> str:
    value = (data_of(body) or {}).get(name)
    if not isinstance(value, str) or not value:
        raise VaultError(f"Vault answered without the {name} of {what}")
    return value
