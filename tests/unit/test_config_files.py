"""Every setting can come from a file named by ``<VARIABLE>_FILE`` (container credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault_bridge.config import ConfigError, Settings


def test_credentials_are_read_from_files(tmp_path: Path) -> None:
    (tmp_path / "role-id").write_text("the-role\n")
    (tmp_path / "secret-id").write_text("s3cret\r\n")
    (tmp_path / "port").write_text("9001")
    settings = Settings.from_env(
        env={
            "VAULT_ADDR": "http://vault:8200",
            "VAULT_BRIDGE_ROLE_ID_FILE": str(tmp_path / "role-id"),
            "VAULT_BRIDGE_SECRET_ID_FILE": str(tmp_path / "secret-id"),
            "VAULT_BRIDGE_PORT_FILE": str(tmp_path / "port"),
        }
    )
    assert (settings.role_id, settings.secret_id, settings.port) == ("the-role", "s3cret", 9001)


def test_only_one_line_end_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "issuer").write_text("https://a.example\n\n")
    settings = Settings.from_env(env={"VAULT_BRIDGE_ISSUER_FILE": str(tmp_path / "issuer")})
    assert settings.issuer == "https://a.example\n"


def test_a_value_and_a_file_for_the_same_variable_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret-id").write_text("from-file")
    env = {
        "VAULT_BRIDGE_ROLE_ID": "r",
        "VAULT_BRIDGE_SECRET_ID": "from-env",
        "VAULT_BRIDGE_SECRET_ID_FILE": str(tmp_path / "secret-id"),
    }
    with pytest.raises(ConfigError, match="VAULT_BRIDGE_SECRET_ID or VAULT_BRIDGE_SECRET_ID_FILE"):
        Settings.from_env(env=env)


@pytest.mark.parametrize("content", [None, b"\xff\xfe secret \xff"])
def test_an_unreadable_file_is_a_clear_error_without_its_content(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "secret-id"
    if content is not None:
        path.write_bytes(content)
    env = {"VAULT_BRIDGE_ROLE_ID": "r", "VAULT_BRIDGE_SECRET_ID_FILE": str(path)}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env=env)
    message = str(caught.value)
    assert message.startswith(f"VAULT_BRIDGE_SECRET_ID_FILE: cannot read {path}")
    assert "secret" not in message.removeprefix(f"VAULT_BRIDGE_SECRET_ID_FILE: cannot read {path}")


def test_an_empty_file_name_means_unset() -> None:
    settings = Settings.from_env(env={"VAULT_BRIDGE_PORT": "9002", "VAULT_BRIDGE_PORT_FILE": ""})
    assert settings.port == 9002
