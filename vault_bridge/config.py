"""Settings from the environment (pydantic-settings), validated once."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vault_bridge.errors import ConfigError as ConfigError  # raised here, kept importable here

KEY_TYPES = {"ed25519": "EdDSA", "ecdsa-p256": "ES256"}
PAT_PREFIX = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9_-]{0,14}[_-])?")
DEFAULT_WORKERS = 2


def _env(var: str, default: Any, *, secret: bool = False) -> Any:
    return Field(default, validation_alias=var, repr=not secret)


def _bridge(name: str, default: Any, *, secret: bool = False) -> Any:
    return _env(f"VAULT_BRIDGE_{name}", default, secret=secret)


class Settings(BaseSettings):
    """Everything the service, the CLI and the embedded OpenBao need to know.

    Every field has an environment variable (see ``ENV``); the README's configuration table lists
    them. ``vault_addr`` empty means: use the embedded OpenBao under ``data_dir``. ``from_env``
    is the one reader of the environment: it reads each variable or its ``*_FILE`` form from
    ``os.environ`` or the mapping it is given, and the model takes only what it hands over, so
    that settings built from a given mapping never mix in the process's own environment.
    """

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, case_sensitive=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """What ``from_env`` read, and nothing from ``os.environ`` underneath it."""
        return (init_settings,)

    vault_addr: str = _env("VAULT_ADDR", "")
    vault_token: str = _env("VAULT_TOKEN", "", secret=True)
    role_id: str = _bridge("ROLE_ID", "", secret=True)
    secret_id: str = _bridge("SECRET_ID", "", secret=True)
    vault_timeout: float = _bridge("VAULT_TIMEOUT", 2.0)
    data_dir: str = _bridge("DATA_DIR", "./var")
    embedded_port: int = _bridge("EMBEDDED_PORT", 8200)
    embedded_audit_max_mb: int = _bridge("EMBEDDED_AUDIT_MAX_MB", 64)
    embedded_audit_keep: int = _bridge("EMBEDDED_AUDIT_KEEP", 3)
    host: str = _bridge("HOST", "127.0.0.1")
    port: int = _bridge("PORT", 8080)
    issuer: str = _bridge("ISSUER", "http://127.0.0.1:8080")
    audience: str = _bridge("AUDIENCE", "vault-bridge")
    kv_mount: str = _bridge("KV_MOUNT", "vault-bridge")
    transit_mount: str = _bridge("TRANSIT_MOUNT", "vault-bridge-transit")
    transit_key: str = _bridge("TRANSIT_KEY", "personal-access-tokens")
    key_type: str = _bridge("KEY_TYPE", "ed25519")
    userpass_mount: str = _bridge("USERPASS_MOUNT", "userpass")
    approle_mount: str = _bridge("APPROLE_MOUNT", "approle")
    policy_dir: str = _bridge("POLICY_DIR", "")  # empty: the policies shipped in the package
    pat_default_days: int = _bridge("PAT_DEFAULT_DAYS", 30)
    pat_max_days: int = _bridge("PAT_MAX_DAYS", 366)
    pat_max_per_user: int = _bridge("PAT_MAX_PER_USER", 1000)
    pat_prefix: str = _bridge("PAT_PREFIX", "vbpat_")
    denylist_poll_interval: float = _bridge("DENYLIST_POLL_INTERVAL", 0.5)
    denylist_max_staleness: float = _bridge("DENYLIST_MAX_STALENESS", 10.0)
    denylist_full_poll_interval: float = _bridge("DENYLIST_FULL_POLL_INTERVAL", 30.0)
    key_refresh_interval: float = _bridge("KEY_REFRESH_INTERVAL", 60.0)
    key_check_interval: float = _bridge("KEY_CHECK_INTERVAL", 5.0)
    directory_cache_ttl: float = _bridge("DIRECTORY_CACHE_TTL", 2.0)
    last_used_interval: float = _bridge("LAST_USED_INTERVAL", 300.0)
    session_lifetime: int = _bridge("SESSION_LIFETIME", 12 * 3600)
    trusted_proxies: int = _bridge("TRUSTED_PROXIES", 0)
    login_window: int = _bridge("LOGIN_WINDOW", 900)
    login_pair_limit: int = _bridge("LOGIN_PAIR_LIMIT", 5)
    login_address_limit: int = _bridge("LOGIN_ADDRESS_LIMIT", 20)
    login_account_limit: int = _bridge("LOGIN_ACCOUNT_LIMIT", 20)
    lockout_threshold: int = _bridge("LOCKOUT_THRESHOLD", 100)
    lockout_duration: int = _bridge("LOCKOUT_DURATION", 300)
    lockout_counter_reset: int = _bridge("LOCKOUT_COUNTER_RESET", 600)
    cookie_secure: bool = _bridge("COOKIE_SECURE", False)
    secret_key: str = _bridge("SECRET_KEY", "", secret=True)
    admin_password: str = _bridge("ADMIN_PASSWORD", "", secret=True)
    audit_log: str = _bridge("AUDIT_LOG", "")
    grant_ttl: int = _bridge("GRANT_TTL", 600)
    wrap_ttl: int = _bridge("WRAP_TTL", 60)
    bridge_url: str = _env("VAULT_BRIDGE_URL", "http://127.0.0.1:8080")
    runner_role_id: str = _bridge("RUNNER_ROLE_ID", "", secret=True)
    runner_secret_id: str = _bridge("RUNNER_SECRET_ID", "", secret=True)
    runner_threads: int = _bridge("RUNNER_THREADS", 2)
    provider_urls: str = _bridge("PROVIDER_URLS", "")
    reconciler_role_id: str = _bridge("RECONCILER_ROLE_ID", "", secret=True)
    reconciler_secret_id: str = _bridge("RECONCILER_SECRET_ID", "", secret=True)
    reconcile_interval: float = _bridge("RECONCILE_INTERVAL", 2.0)
    reconcile_full_interval: float = _bridge("RECONCILE_FULL_INTERVAL", 3600.0)
    workers: int | None = _bridge("WORKERS", None)  # unset: see serving_workers
    log_format: str = _bridge("LOG_FORMAT", "")  # empty: text when embedded, else json
    access_log: str = _bridge("ACCESS_LOG", "")
    smtp_host: str = _bridge("SMTP_HOST", "")
    smtp_port: int = _bridge("SMTP_PORT", 587)
    smtp_security: str = _bridge("SMTP_SECURITY", "starttls")
    smtp_user: str = _bridge("SMTP_USER", "")
    smtp_password: str = _bridge("SMTP_PASSWORD", "", secret=True)
    smtp_from: str = _bridge("SMTP_FROM", "vault-bridge@localhost")
    smtp_ca_file: str = _bridge("SMTP_CA_FILE", "")
    reminder_interval: float = _bridge("REMINDER_INTERVAL", 600.0)
    public_revoke_per_minute: int = _bridge("PUBLIC_REVOKE_PER_MINUTE", 30)

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
    def serving_workers(self) -> int:
        """Gunicorn workers ``serve`` runs, 0 for Werkzeug's server: the setting if given, else
        0 for the embedded default (``make run``) and DEFAULT_WORKERS when VAULT_ADDR is set."""
        if self.workers is not None:
            return self.workers
        return 0 if self.embedded else DEFAULT_WORKERS

    @property
    def access_log_path(self) -> str:
        """Where the access log goes: the setting (``-`` for stdout, ``off``), else
        ``<data_dir>/access.jsonl`` when embedded (a readable terminal), else stdout."""
        if self.access_log:
            return "" if self.access_log == "off" else self.access_log
        return str(Path(self.data_dir) / "access.jsonl") if self.embedded else "-"

    @property
    def log_style(self) -> str:
        """How ``serve`` writes its log: the setting, else ``text`` for the embedded default (a
        terminal) and ``json`` otherwise (a log shipper)."""
        return self.log_format or ("text" if self.embedded else "json")

    @property
    def algorithm(self) -> str:
        """The JWS algorithm of the configured transit key type."""
        return KEY_TYPES[self.key_type]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read settings from ``env`` (default ``os.environ``); ``overrides`` win over both."""
        source = os.environ if env is None else env
        values: dict[str, Any] = {}
        try:
            for var in ENV.values():
                raw = _value_or_file(source, var)
                if raw is not None and raw != "":
                    values[var] = raw
            values.update({ENV.get(name, name): value for name, value in overrides.items()})
            return cls.model_validate(values)
        except ValidationError as exc:
            raise _config_error(exc) from None

    @model_validator(mode="after")
    def _check(self) -> Settings:
        """Refuse settings that cannot work."""
        if self.workers is not None and not 0 <= self.workers <= 64:
            raise ValueError("VAULT_BRIDGE_WORKERS must be 0-64")
        if self.log_format not in ("", "json", "text"):
            raise ValueError("VAULT_BRIDGE_LOG_FORMAT must be json or text")
        if self.key_type not in KEY_TYPES:
            raise ValueError(
                f"VAULT_BRIDGE_KEY_TYPE must be one of {', '.join(KEY_TYPES)}, "
                f"not {self.key_type!r}"
            )
        if not 1 <= self.pat_default_days <= self.pat_max_days:
            raise ValueError("VAULT_BRIDGE_PAT_DEFAULT_DAYS must be between 1 and the maximum")
        if not PAT_PREFIX.fullmatch(self.pat_prefix):
            raise ValueError(
                "VAULT_BRIDGE_PAT_PREFIX must be empty or 2-16 letters, digits, '_' and '-' "
                "ending in '_' or '-' (like vbpat_)"
            )
        if not 1 <= self.pat_max_per_user <= 1000:
            raise ValueError("VAULT_BRIDGE_PAT_MAX_PER_USER must be 1-1000")
        if self.denylist_poll_interval <= 0 or self.denylist_max_staleness <= 0:
            raise ValueError("denylist intervals must be positive")
        if self.denylist_max_staleness < 2 * self.denylist_poll_interval:
            raise ValueError(
                "VAULT_BRIDGE_DENYLIST_MAX_STALENESS must be at least twice the poll interval"
            )
        if self.key_check_interval <= 0 or self.key_refresh_interval <= 0:
            raise ValueError("key refresh and check intervals must be positive")
        if not 0 <= self.trusted_proxies <= 10:
            raise ValueError("VAULT_BRIDGE_TRUSTED_PROXIES must be 0-10")
        limits = (self.login_pair_limit, self.login_address_limit, self.login_account_limit)
        if self.login_window < 1 or min(limits) < 1:
            raise ValueError("sign-in limits and their window must be positive")
        if self.lockout_threshold <= max(limits):
            raise ValueError(
                "VAULT_BRIDGE_LOCKOUT_THRESHOLD must be above the per-replica sign-in limits "
                "(a handful of guesses must never lock an account at Vault)"
            )
        if self.lockout_duration < 1 or self.lockout_counter_reset < 1:
            raise ValueError("the userpass lockout duration and counter reset must be positive")
        if self.denylist_full_poll_interval < self.denylist_poll_interval:
            raise ValueError(
                "VAULT_BRIDGE_DENYLIST_FULL_POLL_INTERVAL must be at least the poll interval"
            )
        if self.embedded_audit_max_mb < 1 or self.embedded_audit_keep < 1:
            raise ValueError(
                "VAULT_BRIDGE_EMBEDDED_AUDIT_MAX_MB and VAULT_BRIDGE_EMBEDDED_AUDIT_KEEP must be "
                "at least 1"
            )
        if bool(self.role_id) != bool(self.secret_id):
            raise ValueError("VAULT_BRIDGE_ROLE_ID and VAULT_BRIDGE_SECRET_ID go together")
        if not self.issuer:
            raise ValueError("VAULT_BRIDGE_ISSUER must not be empty")
        if not 1 <= self.wrap_ttl <= 60:
            raise ValueError("VAULT_BRIDGE_WRAP_TTL must be 1-60 seconds")
        if not 10 <= self.grant_ttl <= 86400:
            raise ValueError("VAULT_BRIDGE_GRANT_TTL must be 10-86400 seconds")
        if bool(self.runner_role_id) != bool(self.runner_secret_id):
            raise ValueError(
                "VAULT_BRIDGE_RUNNER_ROLE_ID and VAULT_BRIDGE_RUNNER_SECRET_ID go together"
            )
        if bool(self.reconciler_role_id) != bool(self.reconciler_secret_id):
            raise ValueError(
                "VAULT_BRIDGE_RECONCILER_ROLE_ID and VAULT_BRIDGE_RECONCILER_SECRET_ID go together"
            )
        if self.reconcile_interval <= 0 or self.reconcile_full_interval < self.reconcile_interval:
            raise ValueError(
                "VAULT_BRIDGE_RECONCILE_INTERVAL must be positive and at most "
                "VAULT_BRIDGE_RECONCILE_FULL_INTERVAL"
            )
        if self.smtp_security not in ("starttls", "ssl", "none"):
            raise ValueError("VAULT_BRIDGE_SMTP_SECURITY must be starttls, ssl or none")
        if bool(self.smtp_user) != bool(self.smtp_password):
            raise ValueError("VAULT_BRIDGE_SMTP_USER and VAULT_BRIDGE_SMTP_PASSWORD go together")
        if not 1 <= self.smtp_port <= 65535:
            raise ValueError("VAULT_BRIDGE_SMTP_PORT must be a port number")
        if self.reminder_interval <= 0:
            raise ValueError("VAULT_BRIDGE_REMINDER_INTERVAL must be positive")
        if not 1 <= self.public_revoke_per_minute <= 100_000:
            raise ValueError("VAULT_BRIDGE_PUBLIC_REVOKE_PER_MINUTE must be 1-100000")
        self.provider_url_map()  # raises on malformed JSON
        return self

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


def _config_error(exc: ValidationError) -> ConfigError:
    first = exc.errors(include_url=False, include_input=False)[0]
    if first["loc"]:
        var = str(first["loc"][0])
        return ConfigError(f"{ENV.get(var, var)} has an invalid value ({first['msg']})")
    return ConfigError(first["msg"].removeprefix("Value error, "))


ENV: dict[str, str] = {
    name: str(field.validation_alias) for name, field in Settings.model_fields.items()
}


def _value_or_file(env: Mapping[str, str], var: str) -> str | None:
    """``var`` itself, or the content of the file named by ``<var>_FILE`` (one trailing line end
    dropped): how containers hand over credentials without putting them in the environment."""
    path = env.get(f"{var}_FILE")
    if not path:
        return env.get(var)
    if env.get(var):
        raise ConfigError(f"set {var} or {var}_FILE, not both")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"{var}_FILE: cannot read {path}: {reason}") from None
    return text.removesuffix("\n").removesuffix("\r")
