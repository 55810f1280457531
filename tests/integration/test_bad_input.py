"""Bad input is a clear 4xx in the error shape, never a 500, and changes nothing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.helpers import Api, pat_headers
from vault_bridge.vault.client import VaultInvalidRequest
from vault_bridge.vault.kv import KV

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 200 + "1" + "}" * 200


def connection_string() -> str:
    return (
        f"SubscriptionId={uuid.uuid4()};ResourceGroupName=rg;WorkspaceName=ws;"
        "ApiKey=k" + "x" * 30 + ";QuantumEndpoint=https://westeurope.quantum.azure.com/;"
    )


def sign_in(app, user) -> tuple[Api, str]:
    """A session (with its CSRF token) and a PAT with both scopes."""
    api = Api(app.test_client())
    api.login(user)
    pat = api.new_pat(scopes=("api", "quantum_tokens"))["token"]
    return api, pat


@pytest.fixture
def signed_in(app, user) -> tuple[Api, str]:
    """A session and a PAT of a new account on a new app."""
    return sign_in(app, user)


@pytest.fixture(scope="module")
def refused(module_app, module_user) -> tuple[Api, str]:
    """One session and PAT for the tests whose every request is refused: they change nothing,
    so they share one app and account (about 60 Vault calls less per case)."""
    return sign_in(module_app, module_user)


@pytest.fixture
def bare_client(module_app):
    """A client without credentials of the shared app, for requests refused before sign-in."""
    return module_app.test_client()


def assert_refused(response, status: int = 400, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    error = body["error"]
    if isinstance(error, dict):
        assert set(error) <= {"code", "message", "field"}
        if code:
            assert error["code"] == code
    elif code:  # the /quantum shape
        assert error == code
    return body


@pytest.mark.parametrize("payload", [DEEP, DEEP_OBJECT])
@pytest.mark.parametrize("path", ["/api/v1/session", "/api/v1/runtime/grants/redeem"])
def test_deeply_nested_json_without_login_is_400(bare_client, path: str, payload: str) -> None:
    response = bare_client.post(path, data=payload, content_type="application/json")
    assert_refused(response, 400, "invalid_json")


JSON_ENDPOINTS = [
    ("post", "/api/v1/user/personal-access-tokens"),
    ("post", "/api/v1/orgs"),
    ("put", "/api/v1/orgs/acme/members/ada"),
    ("put", "/api/v1/user/provider-access-tokens/ibm-quantum"),
    ("put", "/api/v1/orgs/acme/provider-access-tokens/ibm-quantum"),
    ("post", "/api/v1/runtime/grants"),
    ("post", "/quantum/jobs"),
]


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize(
    "payload",
    [
        DEEP,
        DEEP_OBJECT,
        b'{"name": "\xff\xfe"}',  # not UTF-8
        '{"name": "\\ud800"}',  # a lone surrogate
        '{"name": 1e999}',  # not a finite number
        '{"name": NaN}',
        '{"shots": ' + "9" * 5000 + "}",  # more digits than Python parses
    ],
)
def test_malformed_bodies_on_every_json_endpoint_are_4xx(refused, method, path, payload) -> None:
    api, pat = refused
    for headers in ({"X-CSRF-Token": api.csrf}, pat_headers(pat)):
        response = getattr(api.client, method)(
            path, data=payload, content_type="application/json", headers=headers
        )
        assert 400 <= response.status_code < 500, (path, response.status_code)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_wrong_content_types_are_invalid_json(refused, content_type: str) -> None:
    api, _ = refused
    response = api.client.post(
        "/api/v1/user/personal-access-tokens",
        data='{"name": "x", "scopes": ["api"]}',
        content_type=content_type,
        headers={"X-CSRF-Token": api.csrf},
    )
    assert_refused(response, 400, "invalid_json")


@pytest.mark.parametrize(
    "expires_at", ["9999-12-31", "9999-12-31T23:59:59-05:00", "0001-01-01", "+10000-01-01", "2026"]
)
def test_odd_expiry_dates_are_400(refused, expires_at: str) -> None:
    api, _ = refused
    response = api.create_pat("far", expires_at=expires_at)
    assert_refused(response, 400, "invalid_expires_at")


def test_odd_expiry_date_in_the_web_form_is_a_form_error(app, user) -> None:
    import re

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": csrf, "username": user.id, "password": user.password})
    page = client.get("/settings/personal-access-tokens").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/settings/personal-access-tokens",
        data={
            "csrf_token": csrf,
            "name": "far",
            "scopes": "api",
            "expiry": "custom",
            "expires_on": "9999-12-31",
        },
    )
    assert response.status_code == 400
    assert "at most" in response.get_data(as_text=True)


def test_job_with_bad_input_params_issues_no_grant(app, signed_in, base_settings) -> None:
    api, pat = signed_in
    stored = api.client.put(
        "/api/v1/user/provider-access-tokens/azure-quantum",
        json={"connection_string": connection_string()},
        headers=pat_headers(pat),
    )
    assert stored.status_code == 201, stored.get_json()
    user = api.client.get("/api/v1/user", headers=pat_headers(pat)).get_json()["id"]
    for params in ("not an object", [1, 2], 5):
        response = api.client.post(
            "/quantum/jobs",
            json={
                "backend_id": "azure.ionq.simulator",
                "shots": 10,
                "input": {"qubits": 2, "circuit": [{"gate": "h", "target": 0}]},
                "input_format": "IONQ_CIRCUIT_V1",
                "input_params": params,
            },
            headers=pat_headers(pat),
        )
        assert_refused(response, 400, "invalid_input")
    lines = Path(base_settings.audit_log).read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert not [e for e in events if e["event"] == "grant.issue" and e["actor"] == user]
    listed = api.client.get("/quantum/jobs", headers=pat_headers(pat)).get_json()
    assert listed["content"] == []


@pytest.mark.parametrize("grant", ["é.é.é", "ünïcode", "a\u2028b.c.d", "\x00.a.b"])
def test_non_ascii_grants_are_invalid(bare_client, runner_vault, grant: str) -> None:
    response = bare_client.post(
        "/api/v1/runtime/grants/redeem",
        json={"grant": grant},
        headers={"X-Vault-Token": runner_vault.token},
    )
    assert_refused(response, 400, "invalid_grant")


@pytest.mark.parametrize("signature", ["é" * 43, "ü", "\u2028", "\x00" * 43])
def test_a_real_grant_with_a_non_ascii_signature_is_invalid(
    signed_in, runner_vault, signature: str
) -> None:
    """The grant's own shape, only its signature (after the last dot) is not ASCII."""
    api, pat = signed_in
    stored = api.client.put(
        "/api/v1/user/provider-access-tokens/ionq",
        json={"api_key": "k" * 40},
        headers=pat_headers(pat),
    )
    assert stored.status_code in (200, 201), stored.get_json()
    issued = api.client.post(
        "/api/v1/runtime/grants",
        json={"provider": "ionq", "job_id": f"job-{uuid.uuid4().hex[:8]}"},
        headers=pat_headers(pat),
    )
    assert issued.status_code == 201, issued.get_json()
    forged = issued.get_json()["grant"].rpartition(".")[0] + "." + signature
    response = api.client.post(
        "/api/v1/runtime/grants/redeem",
        json={"grant": forged},
        headers={"X-Vault-Token": runner_vault.token},
    )
    assert_refused(response, 400, "invalid_grant")


@pytest.mark.parametrize("token", ["s.abc\x01def", "hvs.\x7f", "x\ty", "é" * 3])
def test_vault_tokens_with_control_or_odd_characters_are_401(bare_client, token: str) -> None:
    response = bare_client.post(
        "/api/v1/runtime/grants/redeem",
        json={"grant": "a.b"},
        headers={"X-Vault-Token": token},
    )
    assert_refused(response, 401, "runner_token_invalid")


def test_provider_values_vault_cannot_store_are_400_and_nothing_is_stored(signed_in, admin) -> None:
    api, pat = signed_in
    crn = "crn:v1:" + "a" * 700 + ":public:quantum-computing:us-east:a/" + "0" * 32 + ":" + "1" * 36
    response = api.client.put(
        "/api/v1/user/provider-access-tokens/ibm-cloud",
        json={"api_key": "k" * 40, "service_crn": crn + "::"},
        headers=pat_headers(pat),
    )
    body = assert_refused(response, 400, "invalid_field")
    assert body["error"]["field"] == "service_crn"
    assert (
        api.client.get("/api/v1/user/provider-access-tokens", headers=pat_headers(pat)).get_json()
        == []
    )


def test_a_vault_400_is_a_400_not_a_500(admin_client) -> None:
    kv = KV(admin_client, "vault-bridge")
    path = f"tests/{uuid.uuid4().hex}"
    kv.write(path, {"x": "1"})
    try:
        with pytest.raises(VaultInvalidRequest) as raised:
            kv.write_metadata(path, {"k": "v" * 1000})  # custom metadata values: 512 bytes at most
        assert raised.value.status == 400
    finally:
        kv.destroy(path)
