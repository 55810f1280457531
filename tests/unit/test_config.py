"""Settings from the environment are validated once, with clear errors."""

from __future__ import annotations

import pytest

from vault_bridge.config import ConfigError, Settings


def test_defaults_are_the_embedded_default() -> None:
    settings = Settings.from_env(env={})
    assert settings.embedded and settings.data_dir == "./var" and settings.port == 8080
    assert settings.algorithm == "EdDSA" and settings.pat_max_days == 366


def test_a_given_environment_is_the_only_one_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """``from_env(env=...)`` reads that mapping alone: nothing of the process's environment
    (an operator's shell with VAULT_TOKEN set) leaks into settings built for something else."""
    monkeypatch.setenv("VAULT_ADDR", "http://leaked:8200")
    monkeypatch.setenv("VAULT_TOKEN", "s.leaked")
    monkeypatch.setenv("VAULT_BRIDGE_PORT", "9999")
    given = Settings.from_env(env={"VAULT_BRIDGE_HOST": "127.0.0.2"}, issuer="https://x.test")
    assert given.embedded and given.vault_token == "" and given.port == 8080
    assert given.host == "127.0.0.2" and given.issuer == "https://x.test"
    process = Settings.from_env()
    assert process.vault_addr == "http://leaked:8200" and process.port == 9999


def test_values_are_converted() -> None:
    settings = Settings.from_env(
        env={
            "VAULT_ADDR": "http://vault:8200",
            "VAULT_BRIDGE_PORT": "9000",
            "VAULT_BRIDGE_COOKIE_SECURE": "true",
            "VAULT_BRIDGE_KEY_TYPE": "ecdsa-p256",
        }
    )
    assert not settings.embedded and settings.port == 9000 and settings.cookie_secure
    assert settings.algorithm == "ES256"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"VAULT_BRIDGE_PORT": "eighty"}, "VAULT_BRIDGE_PORT"),
        ({"VAULT_BRIDGE_KEY_TYPE": "rsa-2048"}, "VAULT_BRIDGE_KEY_TYPE"),
        ({"VAULT_BRIDGE_PAT_DEFAULT_DAYS": "400"}, "DEFAULT_DAYS"),
        ({"VAULT_BRIDGE_ROLE_ID": "r"}, "SECRET_ID"),
        ({"VAULT_BRIDGE_COOKIE_SECURE": "maybe"}, "COOKIE_SECURE"),
        ({"VAULT_BRIDGE_DENYLIST_MAX_STALENESS": "0.1"}, "STALENESS"),
        ({"VAULT_BRIDGE_DENYLIST_FULL_POLL_INTERVAL": "0.1"}, "FULL_POLL_INTERVAL"),
        ({"VAULT_BRIDGE_EMBEDDED_AUDIT_MAX_MB": "0"}, "EMBEDDED_AUDIT_MAX_MB"),
        ({"VAULT_BRIDGE_EMBEDDED_AUDIT_KEEP": "0"}, "EMBEDDED_AUDIT_KEEP"),
        ({"VAULT_BRIDGE_WORKERS": "-1"}, "VAULT_BRIDGE_WORKERS"),
        ({"VAULT_BRIDGE_LOG_FORMAT": "xml"}, "VAULT_BRIDGE_LOG_FORMAT"),
    ],
)
def test_bad_values_are_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env=env)


@pytest.mark.parametrize(
    ("env", "workers", "access_log", "log_style"),
    [
        ({}, 0, "var/access.jsonl", "text"),  # make run: Werkzeug, requests not in the terminal
        ({"VAULT_BRIDGE_WORKERS": "3"}, 3, "var/access.jsonl", "text"),
        ({"VAULT_ADDR": "http://vault:8200"}, 2, "-", "json"),  # production: gunicorn, stdout
        ({"VAULT_ADDR": "http://v:8200", "VAULT_BRIDGE_WORKERS": "0"}, 0, "-", "json"),
        ({"VAULT_BRIDGE_ACCESS_LOG": "off", "VAULT_BRIDGE_LOG_FORMAT": "json"}, 0, "", "json"),
        ({"VAULT_BRIDGE_ACCESS_LOG": "-"}, 0, "-", "text"),
    ],
)
def test_serving_defaults(
    env: dict[str, str], workers: int, access_log: str, log_style: str
) -> None:
    settings = Settings.from_env(env={"VAULT_BRIDGE_DATA_DIR": "var", **env})
    assert settings.serving_workers == workers
    assert settings.access_log_path == access_log
    assert settings.log_style == log_style


def test_secrets_are_not_in_the_repr() -> None:
    settings = Settings.from_env(
        env={
            "VAULT_TOKEN": "s.topsecret",
            "VAULT_BRIDGE_SECRET_ID": "sid-secret",
            "VAULT_BRIDGE_ROLE_ID": "rid",
            "VAULT_BRIDGE_ADMIN_PASSWORD": "pw-secret",
        }
    )
    text = repr(settings)
    assert "topsecret" not in text and "sid-secret" not in text and "pw-secret" not in text
