"""Provider access tokens: catalog, validation, roles, versions, check-and-set, write-only."""

from __future__ import annotations

import json
import logging
import secrets
import string
import threading
import uuid

import pytest

from tests.helpers import Api, eventually, pat_headers, unique_id
from vault_bridge.errors import BadRequest


def alnum(n: int) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(n))


def valid_credentials() -> dict[str, dict[str, str]]:
    """A valid credential per catalog provider, every secret distinctive and random."""
    hexa = secrets.token_hex
    return {
        "ibm-quantum": {"token": "ibmq" + alnum(60), "instance": "ibm-q/open/main"},
        "ibm-cloud": {
            "api_key": "cloud" + alnum(39),
            "service_crn": "crn:v1:bluemix:public:quantum-computing:us-east:"
            f"a/{hexa(16)}:{uuid.uuid4()}::",
        },
        "dwave-leap": {"token": "DEV-" + hexa(20), "region": "eu-central-1"},
        "aws-braket": {
            "access_key_id": "AKIA"
            + "".join(secrets.choice(string.ascii_uppercase) for _ in range(16)),
            "secret_access_key": alnum(38) + "/+",
            "region": "eu-west-2",
        },
        "azure-quantum": {
            "connection_string": f"SubscriptionId={uuid.uuid4()};ResourceGroupName=rg-q;"
            f"WorkspaceName=ws1;ApiKey={alnum(44)};QuantumEndpoint=https://westeurope.quantum.azure.com/;"
        },
        "ionq": {"api_key": alnum(40)},
        "iqm-resonance": {
            "token": "iqm." + alnum(70),
            "server_url": "https://cocos.resonance.meetiqm.com/garnet",
        },
        "quantinuum": {"username": "ada@example.org", "password": "Pw-" + alnum(29)},
    }


def secret_values(catalog, credentials) -> list[str]:
    values = []
    for provider_id, fields in credentials.items():
        provider = catalog.providers[provider_id]
        values += [v for k, v in fields.items() if provider.field(k).secret]
    return values


def put(api: Api, path: str, body):
    return api.client.put(path, json=body, headers={"X-CSRF-Token": api.csrf})


# The tests share the module's app, except those that give an app settings of their own or run
# replicas side by side. Tests that write sign in accounts of their own on clients of their own;
# those that only read or send what is refused share one session of the module's account
# (``module_api``), which nothing here changes (they check that it stays without provider tokens).


@pytest.fixture
def api(module_app) -> Api:
    """A new client of the module's app."""
    return Api(module_app.test_client())


def test_catalog_is_served_from_the_data_file(module_api: Api) -> None:
    api = module_api
    providers = api.client.get("/api/v1/providers").get_json()
    ids = {p["id"] for p in providers}
    assert {
        "ibm-quantum",
        "ibm-cloud",
        "dwave-leap",
        "aws-braket",
        "azure-quantum",
        "ionq",
        "iqm-resonance",
        "quantinuum",
    } <= ids
    aws = next(p for p in providers if p["id"] == "aws-braket")
    fields = {f["name"]: f for f in aws["fields"]}
    assert fields["secret_access_key"]["secret"] and fields["secret_access_key"]["required"]
    assert not fields["region"]["secret"] and not fields["session_token"]["required"]
    assert fields["access_key_id"]["env"] == "AWS_ACCESS_KEY_ID"


def test_every_catalog_provider_accepts_its_sample(api: Api, user, admin) -> None:
    api.login(user)
    credentials = valid_credentials()
    for provider_id, body in credentials.items():
        response = put(api, f"/api/v1/user/provider-access-tokens/{provider_id}", body)
        assert response.status_code == 201, (provider_id, response.get_json())
    listed = api.client.get("/api/v1/user/provider-access-tokens").get_json()
    assert [p["provider"] for p in listed] == sorted(credentials)
    for provider_id, body in credentials.items():
        stored = admin.providers.read_credential("users", user.id, provider_id)
        assert stored == body


def test_set_replace_describe_delete(api: Api, user, admin_client) -> None:
    api.login(user)
    path = "/api/v1/user/provider-access-tokens/aws-braket"
    first = {
        "access_key_id": "AKIAABCDEFGHIJKLMNOP",
        "secret_access_key": "a" * 36 + "WXYZ",
        "region": "us-east-1",
    }
    response = put(api, path, first)
    assert response.status_code == 201
    body = response.get_json()
    assert body["fields"]["secret_access_key"] == {"secret": True, "set": True, "hint": "…WXYZ"}
    assert body["fields"]["access_key_id"] == {
        "secret": False,
        "set": True,
        "value": "AKIAABCDEFGHIJKLMNOP",
    }
    assert body["fields"]["session_token"]["set"] is False
    assert body["updated_by"] == user.id and body["version"] == 1
    second = {**first, "secret_access_key": "b" * 36 + "QRST", "region": "eu-west-1"}
    response = put(api, path, second)
    assert response.status_code == 200
    assert response.get_json()["version"] == 2
    assert api.client.get(path).get_json()["fields"]["region"]["value"] == "eu-west-1"
    kv_meta = admin_client.read(
        f"vault-bridge/metadata/users/{user.id}/provider-access-tokens/aws-braket"
    )
    assert sorted(kv_meta["data"]["versions"]) == ["1", "2"]  # history kept by Vault
    custom = kv_meta["data"]["custom_metadata"]
    assert custom["provider"] == "aws-braket" and custom["hint_secret_access_key"] == "…QRST"
    assert "b" * 36 not in json.dumps(custom)
    assert api.client.delete(path, headers={"X-CSRF-Token": api.csrf}).status_code == 204
    assert api.client.get(path).status_code == 404
    assert (
        admin_client.read(
            f"vault-bridge/metadata/users/{user.id}/provider-access-tokens/aws-braket"
        )
        is None
    )
    assert api.client.delete(path, headers={"X-CSRF-Token": api.csrf}).status_code == 404


@pytest.mark.parametrize(
    ("provider", "body", "status", "code", "named"),
    [
        ("no-such-provider", {"token": "x" * 40}, 404, "unknown_provider", None),
        ("IBM", {"token": "x" * 40}, 400, "invalid_id", None),
        ("ibm-quantum", {"token": "x" * 40, "extra": "1"}, 400, "unknown_field", "extra"),
        ("ibm-quantum", {}, 400, "missing_field", "token"),
        ("ibm-quantum", {"token": ""}, 400, "missing_field", "token"),
        ("ibm-quantum", {"token": "short"}, 400, "invalid_field", "token"),
        ("ibm-quantum", {"token": 12345}, 400, "invalid_field", "token"),
        (
            "ibm-quantum",
            {"token": "has spaces in it but is long enough ok"},
            400,
            "invalid_field",
            "token",
        ),
        (
            "aws-braket",
            {"access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": "a" * 40},
            400,
            "missing_field",
            "region",
        ),
        (
            "aws-braket",
            {"access_key_id": "nope", "secret_access_key": "a" * 40, "region": "us-east-1"},
            400,
            "invalid_field",
            "access_key_id",
        ),
        ("dwave-leap", {"token": "DEV-" + "z" * 40}, 400, "invalid_field", "token"),
        ("dwave-leap", ["DEV-" + "a" * 40], 400, "invalid_json", None),
    ],
)
def test_bad_writes_are_refused_and_store_nothing(
    module_api: Api, module_user, admin, provider, body, status, code, named
) -> None:
    api, user = module_api, module_user
    response = put(api, f"/api/v1/user/provider-access-tokens/{provider}", body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    if named:
        assert error["field"] == named
    for value in body.values() if isinstance(body, dict) else []:
        if isinstance(value, str) and len(value) > 6:
            assert value not in response.get_data(as_text=True)
    assert api.client.get("/api/v1/user/provider-access-tokens").get_json() == []
    assert admin.providers.kv.list(f"users/{user.id}/provider-access-tokens") == []


def test_organization_tokens_by_role(module_app, make_user) -> None:
    app = module_app
    owner, maint, viewer, outsider = (make_user(p) for p in ("po", "pm", "pv", "px"))
    apis = {}
    for name, account in (
        ("owner", owner),
        ("maint", maint),
        ("viewer", viewer),
        ("out", outsider),
    ):
        apis[name] = Api(app.test_client())
        apis[name].login(account)
    org = unique_id("porg")
    owner_api = apis["owner"]
    assert (
        owner_api.client.post(
            "/api/v1/orgs", json={"id": org}, headers={"X-CSRF-Token": owner_api.csrf}
        ).status_code
        == 201
    )
    for account, role in ((maint, "maintainer"), (viewer, "viewer")):
        assert (
            put(owner_api, f"/api/v1/orgs/{org}/members/{account.id}", {"role": role}).status_code
            == 200
        )
    path = f"/api/v1/orgs/{org}/provider-access-tokens/ionq"
    assert put(apis["owner"], path, {"api_key": alnum(40)}).status_code == 201
    assert put(apis["maint"], path, {"api_key": alnum(40)}).status_code == 200
    response = put(apis["viewer"], path, {"api_key": alnum(40)})
    assert (
        response.status_code == 403 and response.get_json()["error"]["code"] == "insufficient_role"
    )
    assert (
        apis["viewer"]
        .client.delete(path, headers={"X-CSRF-Token": apis["viewer"].csrf})
        .status_code
        == 403
    )
    assert put(apis["out"], path, {"api_key": alnum(40)}).status_code == 404
    for name in ("owner", "maint", "viewer"):
        listed = apis[name].client.get(f"/api/v1/orgs/{org}/provider-access-tokens").get_json()
        assert [p["provider"] for p in listed] == ["ionq"] and listed[0]["version"] == 2
        assert listed[0]["updated_by"] == maint.id
    assert apis["out"].client.get(f"/api/v1/orgs/{org}/provider-access-tokens").status_code == 404
    assert apis["out"].client.get(path).status_code == 404
    assert (
        apis["maint"].client.delete(path, headers={"X-CSRF-Token": apis["maint"].csrf}).status_code
        == 204
    )


def test_pat_can_manage_own_provider_tokens(api: Api, user) -> None:
    api.login(user)
    token = api.new_pat()["token"]
    client = api.client.application.test_client()
    response = client.put(
        "/api/v1/user/provider-access-tokens/ionq",
        json={"api_key": alnum(40)},
        headers=pat_headers(token),
    )
    assert response.status_code == 201
    assert (
        client.get("/api/v1/user/provider-access-tokens", headers=pat_headers(token)).status_code
        == 200
    )


def test_concurrent_writers_lose_no_update(make_app, user) -> None:
    replicas = [make_app().extensions["vault_bridge"] for _ in range(2)]
    values = [alnum(40) for _ in range(8)]
    errors: list[Exception] = []

    def write(i: int) -> None:
        try:
            replicas[i % 2].providers.put("users", user.id, "ionq", {"api_key": values[i]}, user.id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(values))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = replicas[0].providers
    meta = store.kv.read_metadata(f"users/{user.id}/provider-access-tokens/ionq")
    assert meta["current_version"] == len(values)
    assert sorted(meta["versions"]) == sorted(str(v) for v in range(1, len(values) + 1))
    stored = store.read_credential("users", user.id, "ionq")["api_key"]
    custom = meta["custom_metadata"]
    assert custom["data_version"] == str(len(values))  # metadata describes the latest data
    assert custom["hint_api_key"] == "…" + stored[-4:]
    history = {
        store.kv.client.read(
            f"vault-bridge/data/users/{user.id}/provider-access-tokens/ionq?version={v}"
        )["data"]["data"]["api_key"]
        for v in range(1, 9)
    }
    assert history == set(values)  # every write is a version of its own


def test_operator_deletes_in_kv_and_the_api_agrees(api: Api, user, bao_cli, admin_client) -> None:
    api.login(user)
    for provider, body in (
        ("ionq", {"api_key": alnum(40)}),
        ("dwave-leap", {"token": "DEV-" + "a" * 40}),
    ):
        assert put(api, f"/api/v1/user/provider-access-tokens/{provider}", body).status_code == 201
    bao_cli(
        "kv",
        "metadata",
        "delete",
        "-mount=vault-bridge",
        f"users/{user.id}/provider-access-tokens/ionq",
        token=admin_client.token,
    )
    bao_cli(
        "kv",
        "delete",
        "-mount=vault-bridge",
        f"users/{user.id}/provider-access-tokens/dwave-leap",
        token=admin_client.token,
    )
    assert api.client.get("/api/v1/user/provider-access-tokens").get_json() == []
    assert api.client.get("/api/v1/user/provider-access-tokens/ionq").status_code == 404
    assert api.client.get("/api/v1/user/provider-access-tokens/dwave-leap").status_code == 404


def test_deleting_user_deletes_their_provider_tokens(api: Api, make_user, admin) -> None:
    account = make_user()
    api.login(account)
    assert (
        put(api, "/api/v1/user/provider-access-tokens/ionq", {"api_key": alnum(40)}).status_code
        == 201
    )
    admin.accounts.delete(account.id, actor="test")
    assert admin.providers.kv.list(f"users/{account.id}/provider-access-tokens") == []


def test_secret_values_appear_nowhere(make_app, make_user, admin, bao, caplog, tmp_path) -> None:
    """Store distinctive secrets, use every endpoint, and look for them everywhere."""
    caplog.set_level(logging.DEBUG)
    audit_path = tmp_path / "audit.jsonl"
    openbao_audit_start = bao.audit_log.stat().st_size  # what this test makes OpenBao write
    app = make_app(audit_log=str(audit_path))
    owner = make_user("leak")
    api = Api(app.test_client())
    api.login(owner)
    org = unique_id("leak")
    csrf = {"X-CSRF-Token": api.csrf}
    assert api.client.post("/api/v1/orgs", json={"id": org}, headers=csrf).status_code == 201
    user_creds, org_creds = valid_credentials(), valid_credentials()
    secrets_ = secret_values(admin.catalog, user_creds) + secret_values(admin.catalog, org_creds)
    bodies: list[str] = []

    def call(method: str, path: str, **kwargs) -> None:
        response = getattr(api.client, method)(path, headers=csrf, **kwargs)
        bodies.append(response.get_data(as_text=True) + json.dumps(dict(response.headers)))

    for provider, body in user_creds.items():
        call("put", f"/api/v1/user/provider-access-tokens/{provider}", json=body)
        call("put", f"/api/v1/user/provider-access-tokens/{provider}", json=body)  # replace
        call("get", f"/api/v1/user/provider-access-tokens/{provider}")
        call(
            "put",
            f"/api/v1/user/provider-access-tokens/{provider}",
            json={**body, "bogus": body.get("token", "x")},
        )
    for provider, body in org_creds.items():
        call("put", f"/api/v1/orgs/{org}/provider-access-tokens/{provider}", json=body)
        call("get", f"/api/v1/orgs/{org}/provider-access-tokens/{provider}")
        broken = {k: v + " " for k, v in body.items()}  # pattern mismatch with the secret inside
        call("put", f"/api/v1/orgs/{org}/provider-access-tokens/{provider}", json=broken)
    for path in (
        "/api/v1/user/provider-access-tokens",
        f"/api/v1/orgs/{org}/provider-access-tokens",
        "/api/v1/user",
        "/api/v1/orgs",
        f"/api/v1/orgs/{org}",
        f"/api/v1/orgs/{org}/members",
        "/api/v1/providers",
        "/api/v1/user/personal-access-tokens",
    ):
        call("get", path)
    call("delete", "/api/v1/user/provider-access-tokens/ionq")
    call("delete", f"/api/v1/orgs/{org}/provider-access-tokens/ionq")

    # the values really were stored (the test would prove nothing otherwise)
    assert (
        admin.providers.read_credential("users", owner.id, "ibm-quantum")
        == user_creds["ibm-quantum"]
    )
    assert admin.providers.read_credential("orgs", org, "aws-braket") == org_creds["aws-braket"]

    audit_text = audit_path.read_text()
    assert "provider_token.replace" in audit_text and "provider_token.delete" in audit_text
    logs = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    with open(bao.audit_log, "rb") as log:  # rotated meanwhile (smaller now): all of it
        log.seek(openbao_audit_start if log.seek(0, 2) >= openbao_audit_start else 0)
        openbao_audit = log.read().decode()
    public = json.dumps(admin.catalog.as_list())  # e.g. "SubscriptionId=" is in the catalog
    for value in secrets_:
        windows = {value[i : i + 16] for i in range(max(1, len(value) - 15))} - {
            w for w in {value[i : i + 16] for i in range(max(1, len(value) - 15))} if w in public
        }
        for where, text in (
            ("responses", "\n".join(bodies)),
            ("logs", logs),
            ("audit events", audit_text),
            ("OpenBao audit log", openbao_audit),
            ("repr", repr(app.extensions["vault_bridge"].__dict__)),
        ):
            assert value not in text, f"a secret appeared in the {where}"
            leaked = [w for w in windows if w in text]
            assert not leaked, f"16 characters of a secret appeared in the {where}"


def test_audit_event_per_change(make_app, user, tmp_path) -> None:
    audit_path = tmp_path / "audit.jsonl"
    services = make_app(audit_log=str(audit_path)).extensions["vault_bridge"]
    services.providers.put("users", user.id, "ionq", {"api_key": alnum(40)}, actor=user.id)
    services.providers.put("users", user.id, "ionq", {"api_key": alnum(40)}, actor=user.id)
    services.providers.delete("users", user.id, "ionq", actor=user.id)
    events = [json.loads(line) for line in audit_path.read_text().splitlines()]
    assert [e["event"] for e in events] == [
        "provider_token.set",
        "provider_token.replace",
        "provider_token.delete",
    ]
    for event in events:
        assert event["actor"] == user.id and event["target"] == "ionq"
        assert event["owner"] == f"users/{user.id}" and event["time"].endswith("Z")
    eventually(lambda: True)


def test_form_replace_keeps_secrets_left_empty(
    api: Api, user, admin, bao_cli, admin_client
) -> None:
    """The settings form's replace: an empty secret field keeps the stored value, only the
    fields sent change; the JSON API still replaces the whole credential."""
    store, owner = admin.providers, user.id
    token = "DEV-" + "ab12" * 10
    store.put("users", owner, "dwave-leap", {"token": token, "region": "na-west-1"}, owner)
    meta, created = store.put(
        "users", owner, "dwave-leap", {"region": "eu-central-1"}, owner, keep_secrets=True
    )
    assert not created and meta["fields"]["region"]["value"] == "eu-central-1"
    assert meta["fields"]["token"]["hint"] == "…ab12"
    assert store.read_credential("users", owner, "dwave-leap") == {
        "token": token,
        "region": "eu-central-1",
    }
    # a secret that is sent replaces the stored one
    newer = "DEV-" + "cd34" * 10
    store.put("users", owner, "dwave-leap", {"token": newer}, owner, keep_secrets=True)
    assert store.read_credential("users", owner, "dwave-leap") == {"token": newer}
    # several fields at fault: every one is named, and nothing changes
    with pytest.raises(BadRequest) as refused:
        store.put(
            "users",
            owner,
            "aws-braket",
            {"access_key_id": "x", "region": "Mars"},
            owner,
            keep_secrets=True,
        )
    assert [(e.field, e.code) for e in refused.value.errors] == [
        ("access_key_id", "invalid_field"),
        ("secret_access_key", "missing_field"),
        ("region", "invalid_field"),
    ]
    assert store.read_credential("users", owner, "aws-braket") is None
    # nothing to keep (deleted with the Vault CLI, versions left): the secret is required again
    bao_cli(
        "kv",
        "delete",
        "-mount=vault-bridge",
        f"users/{owner}/provider-access-tokens/dwave-leap",
        token=admin_client.token,
    )
    with pytest.raises(BadRequest) as refused:
        store.put("users", owner, "dwave-leap", {"region": "na-west-1"}, owner, keep_secrets=True)
    assert refused.value.code == "missing_field" and refused.value.field == "token"
    # the API has no partial update: a PUT without the secret is refused
    api.login(user)
    store.put("users", owner, "dwave-leap", {"token": token}, owner)
    response = put(api, "/api/v1/user/provider-access-tokens/dwave-leap", {"region": "na-west-1"})
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "token"
    assert store.read_credential("users", owner, "dwave-leap") == {"token": token}
