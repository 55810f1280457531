"""docker-compose.yml as users run it: OpenBao, two replicas and a runner, each with its own
credential."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable

import pytest
import requests

from tests.containers.conftest import RemoteUser, Stack, with_pat

# image builds, `docker compose up` and pip installs take longer than unit tests
pytestmark = pytest.mark.timeout(600)

DIRECTORY_CACHE_TTL = 2.0  # VAULT_BRIDGE_DIRECTORY_CACHE_TTL, not set in docker-compose.yml

# Which named volume each service may mount: the seal key and the administrator credential go
# nowhere else, replicas get the service credential only, the runner its own only.
VOLUMES = {
    "init": {"openbao-secrets", "openbao-data", "openbao-logs", "admin-credential"},
    "openbao": {"openbao-secrets", "openbao-data", "openbao-logs"},
    "bootstrap": {
        "admin-credential",
        "service-credential",
        "runner-credential",
        "reconciler-credential",
    },
    "replica-1": {"service-credential"},
    "replica-2": {"service-credential"},
    "reconciler": {"reconciler-credential"},
    "runner": {"runner-credential"},
}


def test_each_container_mounts_only_its_own_credentials(stack: Stack) -> None:
    for service, allowed in VOLUMES.items():
        mounts = stack.container(service)["Mounts"]
        named = {
            m["Name"].removeprefix(f"{stack.project}_") for m in mounts if m["Type"] == "volume"
        }
        assert named == allowed, service
        if service in {"replica-1", "replica-2", "runner"}:
            assert all(not m["RW"] for m in mounts), f"{service} can write its credential"
    for service in ("replica-1", "runner"):
        environment = "\n".join(stack.container(service)["Config"]["Env"])
        assert "_ID=" not in environment.replace("_ID_FILE=", ""), service


def test_containers_drop_capabilities_and_keep_their_root_filesystem_read_only(
    stack: Stack,
) -> None:
    for service in VOLUMES:
        host = stack.container(service)["HostConfig"]
        assert host["CapDrop"] == ["ALL"], service
        assert "no-new-privileges:true" in host["SecurityOpt"], service
        assert host["ReadonlyRootfs"], service
        if service != "init":
            assert not host["CapAdd"], service
    added = stack.container("init")["HostConfig"]["CapAdd"]
    assert sorted(cap.removeprefix("CAP_") for cap in added) == ["CHOWN", "DAC_OVERRIDE"]
    written = stack.exec("replica-1", "sh", "-c", "touch /opt/x || echo refused", check=False)
    assert "refused" in written.stdout


def test_the_replica_credential_cannot_reach_other_credentials_or_its_policy(stack: Stack) -> None:
    probe = (
        "from vault_bridge.config import Settings\n"
        "from vault_bridge.vault.client import VaultClient, VaultForbidden\n"
        "s = Settings.from_env()\n"
        "c = VaultClient(s.vault_addr, role_id=s.role_id, secret_id=s.secret_id)\n"
        "for path, body in [\n"
        "    ('auth/approle/role/vault-bridge-admin/secret-id', {}),\n"
        "    ('auth/approle/role/vault-bridge-runner/secret-id', {}),\n"
        "    ('sys/policies/acl/vault-bridge-service', {'policy': 'path \"*\" {}'}),\n"
        "    ('vault-bridge-transit/keys/personal-access-tokens/rotate', {}),\n"
        "]:\n"
        "    try:\n"
        "        c.write(path, body)\n"
        "    except VaultForbidden:\n"
        "        print('refused', path)\n"
    )
    out = stack.exec("replica-1", "python3", "-c", probe).stdout
    assert out.count("refused") == 4, out


def test_runner_credential_unwraps_but_reads_no_provider_token(stack: Stack) -> None:
    probe = (
        "from vault_bridge.config import Settings\n"
        "from vault_bridge.vault.client import VaultClient, VaultForbidden\n"
        "s = Settings.from_env()\n"
        "c = VaultClient(s.vault_addr, role_id=s.runner_role_id, secret_id=s.runner_secret_id)\n"
        "print(sorted(c.read('auth/token/lookup-self')['data']['policies']))\n"
        "for path in ('vault-bridge/data/users/admin/provider-access-tokens/ibm-quantum',"
        " 'vault-bridge/metadata/orgs'):\n"
        "    try:\n"
        "        c.read(path)\n"
        "    except VaultForbidden:\n"
        "        print('refused', path)\n"
    )
    out = stack.exec("runner", "python3", "-c", probe).stdout
    assert "['vault-bridge-runner']" in out  # its own policy only, not OpenBao's default
    assert out.count("refused") == 2, out


def test_pat_from_replica_1_works_on_2_and_a_revocation_on_2_reaches_1_within_1_s(
    stack: Stack,
) -> None:
    one, two = stack.replicas
    admin = RemoteUser(one, "admin", stack.admin_password)
    pat = admin.new_pat(["api"])
    for url in (one, two, one, two):  # seen before: each replica holds it as verified
        me = with_pat("GET", f"{url}/api/v1/user", pat["token"])
        assert me.status_code == 200 and me.json()["id"] == "admin", me.text
    path = f"/api/v1/user/personal-access-tokens/{pat['id']}"
    revoked = with_pat("DELETE", f"{two}{path}", pat["token"])
    assert revoked.status_code == 204, revoked.text
    answered = time.monotonic()
    last_accepted = {one: -1.0, two: -1.0}
    while time.monotonic() - answered < 1.0:
        for url in (one, two):
            if with_pat("GET", f"{url}/api/v1/user", pat["token"]).status_code != 401:
                last_accepted[url] = time.monotonic() - answered
        time.sleep(0.02)
    # from 1 s on, every request to either replica (and either of its workers) is refused
    answers = [with_pat("GET", f"{url}/api/v1/user", pat["token"]) for url in (one, two) * 5]
    assert [r.status_code for r in answers] == [401] * 10
    assert {r.json()["error"]["code"] for r in answers} == {"token_revoked"}
    assert max(last_accepted.values()) < 1.0, last_accepted


def until_not(
    status: int, call: Callable[[], requests.Response], within: float
) -> requests.Response:
    """Repeat ``call`` while it answers ``status``, for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while (response := call()).status_code == status and time.monotonic() < deadline:
        time.sleep(0.1)
    return response


def test_org_token_reaches_the_runner_container_through_a_grant(stack: Stack) -> None:
    one, two = stack.replicas
    admin = RemoteUser(one, "admin", stack.admin_password)
    pat = admin.new_pat(["api", "quantum_tokens"])["token"]
    org = f"acme-{uuid.uuid4().hex[:8]}"
    created = with_pat("POST", f"{two}/api/v1/orgs", pat, json={"id": org, "display_name": "Acme"})
    assert created.status_code == 201, created.text
    # the reconciler container, not the replica, writes the organization's policies
    policy = stack.wait_for_policy(f"vault-bridge-org-{org}-maintain", within=15)
    assert policy is not None and f"orgs/{org}/provider-access-tokens" in policy
    # other processes learn of the new membership within the directory cache bound (2 s)
    value = secrets.token_urlsafe(40)
    stored = until_not(
        404,
        lambda: with_pat(
            "PUT",
            f"{one}/api/v1/orgs/{org}/provider-access-tokens/ibm-quantum",
            pat,
            json={"token": value},
        ),
        within=DIRECTORY_CACHE_TTL + 0.5,
    )
    assert stored.status_code == 201, stored.text
    assert value not in stored.text
    grant = until_not(
        404,
        lambda: with_pat(
            "POST",
            f"{two}/api/v1/runtime/grants",
            pat,
            json={"provider": "ibm-quantum", "job_id": f"job-{uuid.uuid4().hex[:8]}"},
            headers={"X-OrganizationId": org},
        ),
        within=DIRECTORY_CACHE_TTL + 0.5,
    )
    assert grant.status_code == 201, grant.text
    assert grant.json()["source"] == "organization"
    token = grant.json()["grant"]
    redeemed = stack.exec(
        "runner", "vault-bridge", "runner", "redeem", "--grant", token, "--format", "json"
    )
    credential = json.loads(redeemed.stdout)
    assert credential["provider"] == "ibm-quantum" and credential["source"] == "organization"
    assert credential["fields"]["token"] == value
    again = stack.exec("runner", "vault-bridge", "runner", "redeem", "--grant", token, check=False)
    assert again.returncode == 1 and again.stderr.startswith("error: redeem refused")
    assert value not in again.stdout + again.stderr


def test_operators_create_accounts_through_the_bootstrap_service(stack: Stack) -> None:
    name = f"ada-{uuid.uuid4().hex[:6]}"
    password = secrets.token_urlsafe(18)
    created = stack.compose(
        "run", "--rm", "-T", "--entrypoint", "vault-bridge", "bootstrap",
        "users", "create", name, "--password-stdin",
        stdin=f"{password}\n", timeout=180,
    )  # fmt: skip
    assert f"created user {name}" in created.stdout
    assert password not in created.stdout + created.stderr
    token = RemoteUser(stack.replicas[1], name, password).new_pat(["api"])["token"]
    me = with_pat("GET", f"{stack.replicas[0]}/api/v1/user", token)
    assert me.status_code == 200 and me.json()["id"] == name
