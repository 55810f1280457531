"""`vault-bridge write-credentials`: each container gets its own AppRole credential as files."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import run_cli
from vault_bridge.bootstrap import RUNNER_POLICY, RUNNER_ROLE, SERVICE_POLICY, SERVICE_ROLE
from vault_bridge.config import Settings
from vault_bridge.vault.client import VaultClient, VaultError
from vault_bridge.vault.sys import Sys


def write(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("write-credentials", *args, env=env, check=False)


@pytest.fixture
def operator_env(bao, admin_client) -> dict[str, str]:
    """The CLI's environment, as an administrator."""
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return {**env, "VAULT_ADDR": bao.addr, "VAULT_TOKEN": admin_client.token}


@pytest.mark.parametrize(
    ("role", "policy"), [(SERVICE_ROLE, SERVICE_POLICY), (RUNNER_ROLE, RUNNER_POLICY)]
)
def test_files_log_in_as_that_role_only(bao, operator_env, tmp_path, role, policy) -> None:
    result = write(operator_env, role, str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["role-id", "secret-id"]
    for path in tmp_path.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    settings = Settings.from_env(
        env={
            "VAULT_ADDR": bao.addr,
            "VAULT_BRIDGE_ROLE_ID_FILE": str(tmp_path / "role-id"),
            "VAULT_BRIDGE_SECRET_ID_FILE": str(tmp_path / "secret-id"),
        }
    )
    client = VaultClient(
        settings.vault_addr, role_id=settings.role_id, secret_id=settings.secret_id
    )
    me = client.read("auth/token/lookup-self") or {}
    assert me["data"]["policies"] == [policy]  # its own, not OpenBao's default policy
    assert client.token not in result.stdout + result.stderr
    assert (tmp_path / "secret-id").read_text() not in result.stdout + result.stderr


def test_a_second_run_keeps_a_valid_secret_and_replaces_a_destroyed_one(
    bao, admin_client, operator_env, tmp_path
) -> None:
    assert write(operator_env, SERVICE_ROLE, str(tmp_path)).returncode == 0
    first = (tmp_path / "secret-id").read_text()
    again = write(operator_env, SERVICE_ROLE, str(tmp_path))
    assert "already there, still valid" in again.stdout
    assert (tmp_path / "secret-id").read_text() == first
    admin_client.write(f"auth/approle/role/{SERVICE_ROLE}/secret-id/destroy", {"secret_id": first})
    renewed = write(operator_env, SERVICE_ROLE, str(tmp_path))
    assert "a new secret-id" in renewed.stdout
    second = (tmp_path / "secret-id").read_text()
    assert second != first
    assert Sys(admin_client).approle_secret_id_known("approle", SERVICE_ROLE, second)
    role_id = (tmp_path / "role-id").read_text()
    with pytest.raises(VaultError):
        VaultClient(bao.addr, role_id=role_id, secret_id=first).token  # noqa: B018


@pytest.mark.parametrize("role", ["vault-bridge-admin", "default", "../vault-bridge"])
def test_only_vault_bridges_own_roles_are_handed_out(operator_env, tmp_path, role) -> None:
    result = write(operator_env, role, str(tmp_path))
    assert result.returncode != 0
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_a_one_line_error(operator_env, tmp_path) -> None:
    result = write(operator_env, SERVICE_ROLE, str(tmp_path / "absent"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'absent'} is not a folder"
