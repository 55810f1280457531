"""Settings from the environment, validated once."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting is missing or malformed."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the service, the CLI and the embedded OpenBao need to know.

    Every field has an environment variable (see ``ENV``); the README's configuration table lists
    them. ``vault_addr`` empty means: use the embedded OpenBao under ``data_dir``.
    """

    vault_addr: str = ""
    vault_token: str = dataclasses.field(default="", repr=False)
    role_id: str = dataclasses.field(default="", repr=False)
    secret_id: str = dataclasses.field(default="", repr=False)
    vault_timeout: float = 2.0
    data_dir: str = "./var"
    embedded_port: int = 8200
    embedded_audit_max_mb: int = 64
    embedded_audit_keep: int = 3
    host: str = "127.0.0.1"
    port: int = 8080
    issuer: str = "http://127.0.0.1:8080"
    audience: str = "vault-bridge"
    kv_mount: str = "vault-bridge"
    transit_mount: str = "vault-bridge-transit"
    transit_key: str = "personal-access-tokens"
    key_type: str = "ed25519"
    userpass_mount: str = "userpass"
    approle_mount: str = "approle"
    policy_dir: str = ""  # empty: the policies shipped in the package (vault_bridge.policies)
    pat_default_days: int = 30
    pat_max_days: int = 366
    denylist_poll_interval: float = 0.5
    denylist_max_staleness: float = 10.0
    denylist_full_poll_interval: float = 30.0
    key_refresh_interval: float = 60.0
    directory_cache_ttl: float = 2.0
    last_used_interval: float = 300.0
    session_lifetime: int = 12 * 3600
    cookie_secure: bool = False
    secret_key: str = dataclasses.field(default="", repr=False)
    admin_password: str = dataclasses.field(default="", repr=False)
    audit_log: str = ""
    grant_ttl: int = 600
    wrap_ttl: int = 60
    bridge_url: str = "http://127.0.0.1:8080"
    runner_role_id: str = dataclasses.field(default="", repr=False)
    runner_secret_id: str = dataclasses.field(default="", repr=False)
    runner_threads: int = 2
    provider_urls: str = ""
    workers: int = 0

    @property
    def embedded(self) -> bool:
        """True when no VAULT_ADDR is configured and the local OpenBao is used."""
        return not self.vault_addr

    @property
    def audit_path(self) -> str:
        """Where audit events go: the setting, else ``<data_dir>/audit.jsonl`` when embedded,
        else stderr (``-``)."""
        if self.audit_log:
            return "" if self.audit_log == "off" else self.audit_log
        return str(Path(self.data_dir) / "audit.jsonl") if self.embedded else "-"

    @property
    def algorithm(self) -> str:
        """The JWS algorithm of the configured transit key type."""
        return KEY_TYPES[self.key_type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); ``overrides`` win over both."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name, var in ENV.items():
            raw = env.get(var)
            if raw is None or raw == "":
                continue
            values[name] = _convert(var, raw, fields[name].type)
        values.update(overrides)
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse settings that cannot work."""
        if self.key_type not in KEY_TYPES:
            raise ConfigError(
                f"VAULT_BRIDGE_KEY_TYPE must be one of {', '.join(KEY_TYPES)}, "
                f"not {self.key_type!r}"
            )
        if not 1 <= self.pat_default_days <= self.pat_max_days:
            raise ConfigError("VAULT_BRIDGE_PAT_DEFAULT_DAYS must be between 1 and the maximum")
        if self.denylist_poll_interval <= 0 or self.denylist_max_staleness <= 0:
            raise ConfigError("denylist intervals must be positive")
        if self.denylist_max_staleness < 2 * self.denylist_poll_interval:
            raise ConfigError(
                "VAULT_BRIDGE_DENYLIST_MAX_STALENESS must be at least twice the poll interval"
            )
        if self.denylist_full_poll_interval < self.denylist_poll_interval:
            raise ConfigError(
                "VAULT_BRIDGE_DENYLIST_FULL_POLL_INTERVAL must be at least the poll interval"
            )
        if self.embedded_audit_max_mb < 1 or self.embedded_audit_keep < 1:
            raise ConfigError(
                "VAULT_BRIDGE_EMBEDDED_AUDIT_MAX_MB and VAULT_BRIDGE_EMBEDDED_AUDIT_KEEP must be "
                "at least 1"
            )
        if bool(self.role_id) != bool(self.secret_id):
            raise ConfigError("VAULT_BRIDGE_ROLE_ID and VAULT_BRIDGE_SECRET_ID go together")
        if not self.issuer:
            raise ConfigError("VAULT_BRIDGE_ISSUER must not be empty")
        if not 1 <= self.wrap_ttl <= 60:
            raise ConfigError("VAULT_BRIDGE_WRAP_TTL must be 1-60 seconds")
        if not 10 <= self.grant_ttl <= 86400:
            raise ConfigError("VAULT_BRIDGE_GRANT_TTL must be 10-86400 seconds")
        if bool(self.runner_role_id) != bool(self.runner_secret_id):
            raise ConfigError(
                "VAULT_BRIDGE_RUNNER_ROLE_ID and VAULT_BRIDGE_RUNNER_SECRET_ID go together"
            )
        self.provider_url_map()  # raises on malformed JSON

    def provider_url_map(self) -> dict[str, str]:
        """Base URLs of provider adapters by catalog provider id (VAULT_BRIDGE_PROVIDER_URLS)."""
        if not self.provider_urls:
            return {}
        try:
            value = json.loads(self.provider_urls)
        except ValueError:
            raise ConfigError("VAULT_BRIDGE_PROVIDER_URLS must be a JSON object") from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise ConfigError("VAULT_BRIDGE_PROVIDER_URLS must map provider ids to URLs")
        return value


KEY_TYPES = {"ed25519": "EdDSA", "ecdsa-p256": "ES256"}

ENV: dict[str, str] = {
    "vault_addr": "VAULT_ADDR",
    "vault_token": "VAULT_TOKEN",
    "role_id": "VAULT_BRIDGE_ROLE_ID",
    "secret_id": "VAULT_BRIDGE_SECRET_ID",
    "vault_timeout": "VAULT_BRIDGE_VAULT_TIMEOUT",
    "data_dir": "VAULT_BRIDGE_DATA_DIR",
    "embedded_port": "VAULT_BRIDGE_EMBEDDED_PORT",
    "embedded_audit_max_mb": "VAULT_BRIDGE_EMBEDDED_AUDIT_MAX_MB",
    "embedded_audit_keep": "VAULT_BRIDGE_EMBEDDED_AUDIT_KEEP",
    "host": "VAULT_BRIDGE_HOST",
    "port": "VAULT_BRIDGE_PORT",
    "issuer": "VAULT_BRIDGE_ISSUER",
    "audience": "VAULT_BRIDGE_AUDIENCE",
    "kv_mount": "VAULT_BRIDGE_KV_MOUNT",
    "transit_mount": "VAULT_BRIDGE_TRANSIT_MOUNT",
    "transit_key": "VAULT_BRIDGE_TRANSIT_KEY",
    "key_type": "VAULT_BRIDGE_KEY_TYPE",
    "userpass_mount": "VAULT_BRIDGE_USERPASS_MOUNT",
    "approle_mount": "VAULT_BRIDGE_APPROLE_MOUNT",
    "policy_dir": "VAULT_BRIDGE_POLICY_DIR",
    "pat_default_days": "VAULT_BRIDGE_PAT_DEFAULT_DAYS",
    "pat_max_days": "VAULT_BRIDGE_PAT_MAX_DAYS",
    "denylist_poll_interval": "VAULT_BRIDGE_DENYLIST_POLL_INTERVAL",
    "denylist_max_staleness": "VAULT_BRIDGE_DENYLIST_MAX_STALENESS",
    "denylist_full_poll_interval": "VAULT_BRIDGE_DENYLIST_FULL_POLL_INTERVAL",
    "key_refresh_interval": "VAULT_BRIDGE_KEY_REFRESH_INTERVAL",
    "directory_cache_ttl": "VAULT_BRIDGE_DIRECTORY_CACHE_TTL",
    "last_used_interval": "VAULT_BRIDGE_LAST_USED_INTERVAL",
    "session_lifetime": "VAULT_BRIDGE_SESSION_LIFETIME",
    "cookie_secure": "VAULT_BRIDGE_COOKIE_SECURE",
    "secret_key": "VAULT_BRIDGE_SECRET_KEY",
    "admin_password": "VAULT_BRIDGE_ADMIN_PASSWORD",
    "audit_log": "VAULT_BRIDGE_AUDIT_LOG",
    "grant_ttl": "VAULT_BRIDGE_GRANT_TTL",
    "wrap_ttl": "VAULT_BRIDGE_WRAP_TTL",
    "bridge_url": "VAULT_BRIDGE_URL",
    "runner_role_id": "VAULT_BRIDGE_RUNNER_ROLE_ID",
    "runner_secret_id": "VAULT_BRIDGE_RUNNER_SECRET_ID",
    "runner_threads": "VAULT_BRIDGE_RUNNER_THREADS",
    "provider_urls": "VAULT_BRIDGE_PROVIDER_URLS",
    "workers": "VAULT_BRIDGE_WORKERS",
}


def _convert(var: str, raw: str, kind: Any) -> Any:
    kind = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind == "bool":
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
    except ValueError:
        raise ConfigError(f"{var} has an invalid value for a {kind}") from None
    return raw
