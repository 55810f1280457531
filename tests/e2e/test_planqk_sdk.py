"""The unmodified planqk-quantum SDK from PyPI against vault-bridge, end to end.

SDK → /quantum (PAT in x-auth-token) → run-time grant → bundled runner (its own Vault identity)
redeems the grant and unwraps the credential at Vault → a loopback provider that checks it got
exactly the stored key → result back through the SDK.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
import requests

from tests.fake_provider import FakeProvider
from tests.helpers import Api, eventually, unique_id

if TYPE_CHECKING:
    from planqk.quantum.sdk import PlanqkQuantumProvider
    from qiskit import QuantumCircuit


@pytest.fixture(scope="module")
def sdk() -> SimpleNamespace:
    """The SDK and qiskit, imported when a test here runs (not when a worker collects this file).

    They cost seconds of CPU to import; under pytest-xdist every worker collects every file but
    only one or two run these tests.
    """
    from planqk.quantum.sdk import PlanqkQuantumProvider
    from planqk.quantum.sdk.exceptions import InvalidAccessTokenError, PlanqkClientError
    from qiskit import QuantumCircuit
    from qiskit.providers import JobStatus

    return SimpleNamespace(
        PlanqkQuantumProvider=PlanqkQuantumProvider,
        InvalidAccessTokenError=InvalidAccessTokenError,
        PlanqkClientError=PlanqkClientError,
        QuantumCircuit=QuantumCircuit,
        JobStatus=JobStatus,
    )


def connection_string(api_key: str) -> str:
    return (
        f"SubscriptionId={uuid.uuid4()};ResourceGroupName=rg;WorkspaceName=ws;"
        f"ApiKey={api_key};QuantumEndpoint=https://westeurope.quantum.azure.com/;"
    )


@pytest.fixture(scope="module")
def provider_server():
    server = FakeProvider()
    yield server
    server.stop()


@pytest.fixture
def platform(make_app, live, make_user, provider_server, monkeypatch, tmp_path):
    app = make_app(provider_urls=json.dumps({"azure-quantum": provider_server.url}))
    server = live(app)
    monkeypatch.setenv("PLANQK_QUANTUM_BASE_URL", f"{server.url}/quantum")
    monkeypatch.setenv("PLANQK_CONFIG_FILE_PATH", str(tmp_path / "no-config.json"))
    for var in (
        "PLANQK_PERSONAL_ACCESS_TOKEN",
        "PLANQK_SERVICE_EXECUTION_TOKEN",
        "SERVICE_EXECUTION_TOKEN",
        "PLANQK_ORGANIZATION_ID",
    ):
        monkeypatch.delenv(var, raising=False)
    owner, member = make_user("sdko"), make_user("sdkm")
    owner_api, member_api = Api(app.test_client()), Api(app.test_client())
    owner_api.login(owner)
    member_api.login(member)
    org = unique_id("sdk")
    csrf = {"X-CSRF-Token": owner_api.csrf}
    assert (
        owner_api.client.post(
            "/api/v1/orgs", json={"id": org, "display_name": "SDK Org"}, headers=csrf
        ).status_code
        == 201
    )
    assert (
        owner_api.client.put(
            f"/api/v1/orgs/{org}/members/{member.id}", json={"role": "viewer"}, headers=csrf
        ).status_code
        == 200
    )
    keys = {"user": "userkey" + uuid.uuid4().hex, "org": "orgkey" + uuid.uuid4().hex}
    provider_server.valid_keys |= set(keys.values())
    assert (
        member_api.client.put(
            "/api/v1/user/provider-access-tokens/azure-quantum",
            json={"connection_string": connection_string(keys["user"])},
            headers={"X-CSRF-Token": member_api.csrf},
        ).status_code
        == 201
    )
    assert (
        owner_api.client.put(
            f"/api/v1/orgs/{org}/provider-access-tokens/azure-quantum",
            json={"connection_string": connection_string(keys["org"])},
            headers=csrf,
        ).status_code
        == 201
    )
    pat = member_api.new_pat(scopes=["api", "quantum_tokens"])
    return {
        "app": app,
        "server": server,
        "org": org,
        "keys": keys,
        "pat": pat,
        "member_api": member_api,
        "member": member,
        "owner_api": owner_api,
    }


def bell(sdk: SimpleNamespace) -> QuantumCircuit:
    circuit = sdk.QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def run_bell(
    sdk: SimpleNamespace, provider: PlanqkQuantumProvider, shots: int = 100
) -> dict[str, int]:
    backend = provider.get_backend("azure.ionq.simulator")
    job = backend.run(bell(sdk), shots=shots)
    status = sdk.JobStatus
    eventually(lambda: job.status() in (status.DONE, status.ERROR), timeout=30, interval=0.1)
    return job.result().get_counts()


def test_lists_backends_and_runs_a_job_with_the_users_own_token(
    sdk, platform, provider_server
) -> None:
    provider = sdk.PlanqkQuantumProvider(access_token=platform["pat"]["token"])
    assert "azure.ionq.simulator" in [b.id if hasattr(b, "id") else b for b in provider.backends()]
    counts = run_bell(sdk, provider)
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 100 and len(counts) == 2
    assert provider_server.keys_used()[-1] == platform["keys"]["user"]


def test_organization_context_uses_the_organizations_token(sdk, platform, provider_server) -> None:
    provider = sdk.PlanqkQuantumProvider(
        access_token=platform["pat"]["token"], organization_id=platform["org"]
    )
    counts = run_bell(sdk, provider, shots=50)
    assert sum(counts.values()) == 50
    assert provider_server.keys_used()[-1] == platform["keys"]["org"]
    jobs = provider.jobs()
    assert len(jobs) == 1 and jobs[0].backend_id == "azure.ionq.simulator"


def test_backend_status_says_whether_the_context_has_a_token(platform) -> None:
    base = f"{platform['server'].url}/quantum/backends/azure.ionq.simulator/status"
    headers = {"x-auth-token": platform["pat"]["token"]}
    assert requests.get(base, headers=headers, timeout=10).json()["provider_token_valid"] is True
    member_api = platform["member_api"]
    member_api.client.delete(
        "/api/v1/user/provider-access-tokens/azure-quantum",
        headers={"X-CSRF-Token": member_api.csrf},
    )
    eventually(
        lambda: (
            requests.get(base, headers=headers, timeout=10).json()["provider_token_valid"] is False
        ),
        timeout=5,
    )
    org_headers = {**headers, "x-organizationid": platform["org"]}
    assert (
        requests.get(base, headers=org_headers, timeout=10).json()["provider_token_valid"] is True
    )


def test_pat_without_quantum_tokens_cannot_run_jobs(sdk, platform) -> None:
    api_only = platform["member_api"].new_pat(scopes=["api"])["token"]
    provider = sdk.PlanqkQuantumProvider(access_token=api_only)
    backend = provider.get_backend("azure.ionq.simulator")  # reading is fine with `api`
    with pytest.raises(sdk.PlanqkClientError) as info:
        backend.run(bell(sdk), shots=10)
    assert info.value.response.status_code == 403
    assert "quantum_tokens" in str(info.value)


def test_revoked_pat_is_an_invalid_access_token(sdk, platform) -> None:
    member_api = platform["member_api"]
    assert (
        member_api.client.delete(
            f"/api/v1/user/personal-access-tokens/{platform['pat']['id']}",
            headers={"X-CSRF-Token": member_api.csrf},
        ).status_code
        == 204
    )
    provider = sdk.PlanqkQuantumProvider(access_token=platform["pat"]["token"])
    with pytest.raises(sdk.InvalidAccessTokenError):
        provider.backends()


def test_non_member_organization_is_refused(sdk, platform) -> None:
    provider = sdk.PlanqkQuantumProvider(
        access_token=platform["pat"]["token"], organization_id=unique_id("other")
    )
    with pytest.raises(sdk.PlanqkClientError) as info:
        provider.backends()
    assert info.value.response.status_code == 403


def test_job_fails_cleanly_when_the_provider_rejects_the_key(
    sdk, platform, provider_server
) -> None:
    provider_server.valid_keys.discard(platform["keys"]["user"])
    try:
        provider = sdk.PlanqkQuantumProvider(access_token=platform["pat"]["token"])
        backend = provider.get_backend("azure.ionq.simulator")
        job = backend.run(bell(sdk), shots=10)
        eventually(lambda: job.status() == sdk.JobStatus.ERROR, timeout=30, interval=0.1)
        with pytest.raises(RuntimeError, match="provider rejected the stored credential"):
            job.result()
    finally:
        provider_server.valid_keys.add(platform["keys"]["user"])


def test_planqk_cli_endpoints(platform) -> None:
    base = f"{platform['server'].url}/qc-catalog"
    token = platform["pat"]["token"]
    me = requests.post(f"{base}/authorize", headers={"X-Auth-Token": token}, timeout=10)
    assert me.status_code == 200
    user = me.json()["user"]
    assert user["id"] == platform["member"].id and {
        "username",
        "firstName",
        "lastName",
        "email",
    } <= set(user)
    accounts = requests.get(
        f"{base}/my/accounts", headers={"X-Auth-Token": token}, timeout=10
    ).json()
    assert accounts[0] == {
        "id": platform["member"].id,
        "displayName": accounts[0]["displayName"],
        "role": "OWNER",
        "isOrganization": False,
        "accountType": "USER",
    }
    assert accounts[1] == {
        "id": platform["org"],
        "displayName": "SDK Org",
        "role": "VIEWER",
        "isOrganization": True,
        "accountType": "ORGANIZATION",
    }
    bad = requests.post(f"{base}/authorize", headers={"X-Auth-Token": "nonsense"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["errorMessage"]
