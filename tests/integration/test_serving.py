"""Production serving: gunicorn workers sharing nothing but Vault; AppRole tokens re-obtained."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
import requests

from tests.conftest import ISSUER
from tests.helpers import CLI, Account, eventually, free_port
from vault_bridge.bootstrap import SERVICE_ROLE
from vault_bridge.vault.client import VaultClient, VaultForbidden
from vault_bridge.vault.sys import Sys

pytestmark = pytest.mark.slow


def test_gunicorn_workers_share_revocations_through_vault(
    bao, admin_client, user: Account, tmp_path
) -> None:
    sys_ = Sys(admin_client)
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "VAULT_ADDR": bao.addr,
        "VAULT_BRIDGE_ROLE_ID": sys_.approle_role_id("approle", SERVICE_ROLE),
        "VAULT_BRIDGE_SECRET_ID": sys_.approle_secret_id("approle", SERVICE_ROLE),
        "VAULT_BRIDGE_ISSUER": ISSUER,
        "VAULT_BRIDGE_PORT": str(port),
        "VAULT_BRIDGE_WORKERS": "2",
        "VAULT_BRIDGE_DENYLIST_POLL_INTERVAL": "0.2",
        "VAULT_BRIDGE_AUDIT_LOG": str(tmp_path / "a.jsonl"),
    }
    with open(tmp_path / "serve.log", "w") as log:
        process = subprocess.Popen([CLI, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            try:
                return requests.get(f"{base}/readyz", timeout=5).status_code == 200
            except requests.RequestException:  # not listening yet, or a worker still starting
                return False

        eventually(ready, timeout=60, interval=0.2)
        http = requests.Session()
        login = http.post(
            f"{base}/api/v1/session", json={"username": user.id, "password": user.password}
        )
        created = http.post(
            f"{base}/api/v1/user/personal-access-tokens",
            json={"name": "gunicorn", "scopes": ["api"]},
            headers={"X-CSRF-Token": login.json()["csrf_token"]},
        )
        assert created.status_code == 201
        token = created.json()
        for _ in range(20):  # keep-alive off: requests spread over the workers
            response = requests.get(
                f"{base}/api/v1/user",
                headers={"X-Auth-Token": token["token"], "Connection": "close"},
            )
            assert response.status_code == 200
        revoke = requests.delete(
            f"{base}/api/v1/user/personal-access-tokens/{token['id']}",
            headers={"X-Auth-Token": token["token"]},
        )
        assert revoke.status_code == 204

        def refused_by_every_worker() -> bool:  # each worker polls the denylist every 0.2 s
            return all(
                requests.get(
                    f"{base}/api/v1/user",
                    headers={"X-Auth-Token": token["token"], "Connection": "close"},
                ).status_code
                == 401
                for _ in range(20)
            )

        eventually(refused_by_every_worker, interval=0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    output = (tmp_path / "serve.log").read_text()
    assert "gunicorn workers" in output and token["token"] not in output


@pytest.mark.parametrize(("max_ttl", "renewed"), [("60s", True), ("2s", False)])
def test_approle_token_is_renewed_then_obtained_again(bao, admin_client, max_ttl, renewed) -> None:
    role = f"short-lived-{max_ttl}"
    admin_client.write(
        f"auth/approle/role/{role}",
        {"token_policies": ["vault-bridge-service"], "token_ttl": "2s", "token_max_ttl": max_ttl},
    )
    sys_ = Sys(admin_client)
    client = VaultClient(
        bao.addr,
        role_id=sys_.approle_role_id("approle", role),
        secret_id=sys_.approle_secret_id("approle", role),
    )
    first = client.token
    deadline = time.monotonic() + 30
    # keep working until the token was renewed twice (or, past its max TTL, replaced by a login)
    while (client.renewals < 2) if renewed else (client.logins < 2):
        assert time.monotonic() < deadline, (client.renewals, client.logins)
        assert client.read("vault-bridge-transit/keys/personal-access-tokens") is not None
        time.sleep(0.25)
    if renewed:  # renewed in place while the max TTL allows
        assert client.renewals >= 2 and client.logins == 1 and client.token == first
    else:  # the max TTL is reached: a fresh login
        assert client.logins >= 2 and client.token != first
    admin_client.delete(f"auth/approle/role/{role}")


def test_clients_ignore_a_stray_vault_token(bao, admin_client, monkeypatch, tmp_path) -> None:
    """VAULT_TOKEN or ~/.vault-token (left by `bao login`, `bao server -dev`) never stands in for
    the configured credentials: the service would act with whatever that token may do."""
    monkeypatch.setenv("VAULT_TOKEN", admin_client.token)  # a live, powerful token
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".vault-token").write_text(admin_client.token)
    sys_ = Sys(admin_client)
    service = VaultClient(
        bao.addr,
        role_id=sys_.approle_role_id("approle", SERVICE_ROLE),
        secret_id=sys_.approle_secret_id("approle", SERVICE_ROLE),
    )
    assert service.token != admin_client.token and service.logins == 1
    looked_up = service.read("auth/token/lookup-self")
    assert looked_up is not None and "vault-bridge-service" in looked_up["data"]["policies"]
    with pytest.raises(VaultForbidden):  # no token configured: none is sent
        VaultClient(bao.addr).read("auth/token/lookup-self")
