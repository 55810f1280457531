"""docs/operations.md, executed: the operator's bao commands, and the service's answer to them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers import Api, eventually, free_port_pair, pat_headers, unique_id
from vault_bridge.app import create_app
from vault_bridge.bootstrap import SERVICE_ROLE, bootstrap
from vault_bridge.config import Settings
from vault_bridge.embedded import EmbeddedOpenBao, bao_binary
from vault_bridge.vault.sys import Sys

BASH = shutil.which("bash") or "/bin/bash"
OPERATIONS = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()


@pytest.fixture
def operator_token(admin_client) -> str:
    body = admin_client.write(
        "auth/token/create", {"policies": ["vault-bridge-operator"], "ttl": "10m"}
    )
    return body["auth"]["client_token"]


def test_inspect_with_the_operator_policy(api: Api, user, admin, bao_cli, operator_token) -> None:
    api.login(user)
    created = api.new_pat("inspect-me")
    csrf = {"X-CSRF-Token": api.csrf}
    api.client.put(
        "/api/v1/user/provider-access-tokens/ionq",
        json={"api_key": "S" * 36 + "WXYZ"},
        headers=csrf,
    )
    org = unique_id("rb")
    api.client.post("/api/v1/orgs", json={"id": org}, headers=csrf)

    listing = bao_cli(
        "kv",
        "list",
        "-mount=vault-bridge",
        f"users/{user.id}/personal-access-tokens",
        token=operator_token,
    ).stdout
    assert created["id"] in listing
    record = bao_cli(
        "kv",
        "get",
        "-format=json",
        "-mount=vault-bridge",
        f"users/{user.id}/personal-access-tokens/{created['id']}",
        token=operator_token,
    ).stdout
    assert json.loads(record)["data"]["data"]["name"] == "inspect-me"
    meta = bao_cli(
        "kv",
        "metadata",
        "get",
        "-format=json",
        "-mount=vault-bridge",
        f"users/{user.id}/provider-access-tokens/ionq",
        token=operator_token,
    ).stdout
    custom = json.loads(meta)["data"]["custom_metadata"]
    assert custom["hint_api_key"] == "…WXYZ" and "S" * 36 not in meta
    denied = bao_cli(
        "kv",
        "get",
        "-mount=vault-bridge",
        f"users/{user.id}/provider-access-tokens/ionq",
        token=operator_token,
        check=False,
    )
    assert denied.returncode != 0 and "permission denied" in denied.stderr
    owners = bao_cli(
        "read",
        "-format=json",
        f"identity/group/name/vault-bridge-org-{org}-owner",
        token=operator_token,
    ).stdout
    entity = bao_cli(
        "read", "-field=id", f"identity/entity/name/{user.id}", token=operator_token
    ).stdout
    assert entity.strip() in json.loads(owners)["data"]["member_entity_ids"]


def documented_block(marker: str) -> str:
    """The ```sh block of docs/operations.md that contains ``marker``."""
    blocks = re.findall(r"```sh\n(.*?)```", OPERATIONS, re.S)
    found = [block for block in blocks if marker in block]
    assert len(found) == 1, f"one block with {marker!r} expected in docs/operations.md"
    return found[0]


def run_documented(block: str, bao: EmbeddedOpenBao, token: str, **variables: str) -> None:
    """Run a documented block with bash, the real bao CLI and the given variables.

    Lines that set one of ``variables`` (the placeholders of the docs) are left out.
    """
    lines = [line for line in block.splitlines() if not line.startswith(tuple(variables))]
    env = {
        "PATH": f"{Path(bao_binary()).parent}:/usr/bin:/bin",
        "BAO_ADDR": bao.addr,
        "BAO_TOKEN": token,
        "HOME": "/tmp",
        **variables,
    }
    done = subprocess.run(
        [BASH, "-euc", "\n".join(lines)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_revoke_with_the_bao_cli_alone(
    api: Api, user, make_app, bao, admin_client, operator_token
) -> None:
    app, other = make_app(), make_app()
    api = Api(app.test_client())
    api.login(user)
    created, bystander = api.new_pat("leaked"), api.new_pat("kept")
    clients = [app.test_client(), other.test_client()]
    for client in clients:
        assert client.get("/api/v1/user", headers=pat_headers(created["token"])).status_code == 200
    # another revocation, just before: the operator's slot must come after it, not replace it
    elsewhere = make_app().extensions["vault_bridge"].tokens.denylist
    block = documented_block("denylist/log")
    expiry = str(int(time.time()) + 86400 * 31)
    elsewhere.add({"0" * 32: int(expiry)})
    run_documented(block, bao, operator_token, ID=created["id"], EXP=expiry)
    started = time.monotonic()  # the CLI's own start-up is not the service's to answer for
    for client in clients:
        eventually(
            lambda c=client: (
                c.get("/api/v1/user", headers=pat_headers(created["token"])).status_code == 401
            ),
            timeout=2,
        )
    assert time.monotonic() - started < 2  # both replicas refuse it within the bound and slack
    # the slot did not replace anyone else's revocation, and nothing else was revoked
    assert elsewhere.is_revoked("0" * 32)
    fresh = make_app().extensions["vault_bridge"].tokens
    fresh.start()
    assert fresh.denylist.is_revoked(created["id"]) and fresh.denylist.is_revoked("0" * 32)
    kept = clients[1].get("/api/v1/user", headers=pat_headers(bystander["token"]))
    assert kept.status_code == 200


@pytest.fixture
def own_server(tmp_path, bao_cli):
    """A server of our own, to seal, restart and restore without disturbing the other tests."""
    server = EmbeddedOpenBao(tmp_path / "own", free_port_pair())
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_seal_in_an_emergency_then_recover_and_restore_a_snapshot(
    own_server, base_settings, make_user, tmp_path
) -> None:
    import subprocess

    from vault_bridge.embedded import bao_binary

    admin = own_server.admin_client()
    bootstrap(admin, base_settings)
    sys_ = Sys(admin)
    settings = Settings.from_env(
        env={},
        **{
            **base_settings.model_dump(),
            "vault_addr": own_server.addr,
            "role_id": sys_.approle_role_id("approle", SERVICE_ROLE),
            "secret_id": sys_.approle_secret_id("approle", SERVICE_ROLE),
            "denylist_max_staleness": 1.0,
            "denylist_poll_interval": 0.1,
        },
    )
    app = create_app(settings)
    try:
        from vault_bridge.services import Services

        Services(settings, admin).directory.create_user("ops", "ops-password-123")
        from tests.helpers import Account

        api = Api(app.test_client())
        api.login(Account("ops", "ops-password-123"))
        csrf = {"X-CSRF-Token": api.csrf}
        assert (
            api.client.put(
                "/api/v1/user/provider-access-tokens/ionq", json={"api_key": "B" * 40}, headers=csrf
            ).status_code
            == 201
        )

        def bao(*args: str) -> subprocess.CompletedProcess[str]:
            env = {
                "PATH": "/usr/bin:/bin",
                "BAO_ADDR": own_server.addr,
                "BAO_TOKEN": admin.token,
                "HOME": "/tmp",
            }
            return subprocess.run(
                [bao_binary(), *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
                check=True,
            )

        snapshot = tmp_path / "backup.snap"
        bao("operator", "raft", "snapshot", "save", str(snapshot))
        assert snapshot.stat().st_size > 0

        # emergency: seal; the service answers 503 and says why
        # (a static-seal OpenBao may unseal itself about a second later: seal right before looking)
        seen = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            bao("operator", "seal")
            response = api.client.get("/api/v1/user/provider-access-tokens")
            ready = app.test_client().get("/readyz").status_code
            seen.append((response.status_code, response.get_json(), ready))
            if response.status_code == 503 and ready == 503:
                break
        status, body, ready = seen[-1]
        assert status == 503 and ready == 503, seen
        assert "sealed" in body["error"]["message"]
        # recovery: restart OpenBao (the static seal unseals at start); the service just recovers
        own_server.stop()
        own_server.start()
        eventually(
            lambda: api.client.get("/api/v1/user/provider-access-tokens").status_code == 200,
            timeout=10,
        )
        eventually(lambda: app.test_client().get("/readyz").status_code == 200, timeout=10)

        # a provider token deleted after the backup comes back with the restore
        assert (
            api.client.delete("/api/v1/user/provider-access-tokens/ionq", headers=csrf).status_code
            == 204
        )
        admin = own_server.admin_client()
        env_token = admin.token
        subprocess.run(
            [bao_binary(), "operator", "raft", "snapshot", "restore", str(snapshot)],
            env={
                "PATH": "/usr/bin:/bin",
                "BAO_ADDR": own_server.addr,
                "BAO_TOKEN": env_token,
                "HOME": "/tmp",
            },
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        eventually(
            lambda: api.client.get("/api/v1/user/provider-access-tokens/ionq").status_code == 200,
            timeout=10,
        )
        assert (
            api.client.get("/api/v1/user/provider-access-tokens/ionq").get_json()["fields"][
                "api_key"
            ]["hint"]
            == "…BBBB"
        )
    finally:
        app.extensions["vault_bridge"].close()
