"""Provider token values: one rule for surrounding whitespace, refusals that say the expected shape.

Every catalog provider and field is tried through the API, the web form and the CLI against the
real OpenBao; no refusal echoes the value.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest

from tests.helpers import run_cli
from tests.integration.test_providers import put, valid_credentials
from vault_bridge.providers.catalog import load_catalog

CATALOG = load_catalog()
FIELDS = [(p.id, f.name) for p in CATALOG.providers.values() for f in p.fields]


def examples() -> dict[str, dict[str, str]]:
    """A valid credential per provider with every field given, the optional ones too."""
    credentials = valid_credentials()
    credentials["aws-braket"]["session_token"] = "FwoGZXIvYXdzE" + "Ab+/" * 30
    return credentials


def test_every_catalog_field_has_a_valid_example() -> None:
    assert {(p, f) for p, fields in examples().items() for f in fields} == set(FIELDS)


def test_every_field_says_what_it_should_look_like() -> None:
    for provider in CATALOG.providers.values():
        for field in provider.fields:
            assert field.format.strip(), (provider.id, field.name)
            assert (
                provider.as_dict()["fields"][provider.fields.index(field)]["format"] == field.format
            )


# The tests below that go through the API share the module's app: the accepted writes go to the
# account of ``module_writer``, which no other test reads; the refusals to that of ``module_api``,
# to which nothing is ever written (as they check).


def stored(admin, user_id: str, provider: str) -> dict[str, str]:
    secret = admin.providers.kv.read(f"users/{user_id}/provider-access-tokens/{provider}")
    return dict(secret.data)


@pytest.mark.parametrize(("provider", "field"), FIELDS)
def test_surrounding_whitespace_is_stripped_from_every_field(
    module_writer, admin, provider, field
) -> None:
    api, user = module_writer
    body = examples()[provider]
    padded = {**body, field: "\u200b \t" + body[field] + "\r\n"}
    response = put(api, f"/api/v1/user/provider-access-tokens/{provider}", padded)
    assert response.status_code in (200, 201), response.get_json()
    assert stored(admin, user.id, provider)[field] == body[field]


@pytest.mark.parametrize(
    ("provider", "field", "inner"),
    [(p, f, ["\n", "\t", "\u200b", "\r"][i % 4]) for i, (p, f) in enumerate(FIELDS)],
)
def test_an_inner_line_break_or_invisible_character_is_refused_saying_so(
    module_api, module_user, admin, provider, field, inner
) -> None:
    api, user = module_api, module_user
    body = examples()[provider]
    value = body[field]
    spoiled = {**body, field: value[:6] + inner + value[6:]}
    response = put(api, f"/api/v1/user/provider-access-tokens/{provider}", spoiled)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_field", field)
    described = CATALOG.providers[provider]
    assert error["message"].startswith(f"{described.label} {described.field(field).label} ")
    assert "line break, tab or other invisible character" in error["message"]
    assert described.field(field).format in error["message"]
    answer = response.get_data(as_text=True)
    assert json.dumps(spoiled[field])[1:-1] not in answer
    if described.field(field).secret:
        assert value[6:] not in answer
    assert admin.providers.kv.list(f"users/{user.id}/provider-access-tokens") == []


@pytest.mark.parametrize(("provider", "field"), FIELDS)
def test_a_value_of_the_wrong_shape_says_the_expected_shape(
    module_api, module_user, admin, provider, field
) -> None:
    api, user = module_api, module_user
    wrong = "wrong#shape!" if field != "password" else "short"
    response = put(
        api,
        f"/api/v1/user/provider-access-tokens/{provider}",
        {**examples()[provider], field: wrong},
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    described = CATALOG.providers[provider]
    expected = (
        f"{described.label} {described.field(field).label} should {described.field(field).format}"
    )
    assert error == {"code": "invalid_field", "message": expected, "field": field}
    assert wrong not in response.get_data(as_text=True)
    assert admin.providers.kv.list(f"users/{user.id}/provider-access-tokens") == []


def test_the_dwave_example_from_the_report(module_api) -> None:
    response = put(
        module_api, "/api/v1/user/provider-access-tokens/dwave-leap", {"token": "DEV-xyz"}
    )
    assert response.get_json()["error"]["message"] == (
        "D-Wave Leap API token should start with a prefix such as DEV- followed by 32-64 hex digits"
    )


def test_a_value_of_only_whitespace_is_missing(module_api) -> None:
    response = put(module_api, "/api/v1/user/provider-access-tokens/ionq", {"api_key": " \n "})
    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (
        400,
        "missing_field",
        "api_key",
    )
    assert error["message"] == "IonQ API key is required"


def csrf_of(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_web_form_follows_the_same_rule(module_app, user, admin) -> None:
    client = module_app.test_client()  # its own session: the web sign-in is part of the test
    client.post(
        "/login",
        data={
            "csrf_token": csrf_of(client, "/login"),
            "username": user.id,
            "password": user.password,
        },
    )
    page = "/settings/provider-access-tokens"
    key = valid_credentials()["ionq"]["api_key"]
    response = client.post(
        f"{page}/ionq", data={"csrf_token": csrf_of(client, page), "api_key": key + "\r\n"}
    )
    assert response.status_code == 302
    assert stored(admin, user.id, "ionq") == {"api_key": key}
    response = client.post(
        f"{page}/ionq",
        data={"csrf_token": csrf_of(client, page), "api_key": key[:8] + "\n" + key[8:]},
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "This contains a line break, tab or other invisible character" in text
    assert key[8:] not in text


def test_the_cli_follows_the_same_rule(bao, admin_client, admin) -> None:
    env = {"PATH": os.environ["PATH"], "VAULT_ADDR": bao.addr, "VAULT_TOKEN": admin_client.token}
    key = valid_credentials()["ionq"]["api_key"]

    def set_default(value: str) -> subprocess.CompletedProcess[str]:
        fields = json.dumps({"api_key": value})
        args = ("platform-tokens", "set", "ionq", "--fields-stdin")
        return run_cli(*args, env=env, stdin=fields, check=False)

    try:
        refused = set_default(key[:8] + "\n" + key[8:])
        assert refused.returncode == 1
        assert "IonQ API key contains a line break" in refused.stderr
        assert key[8:] not in refused.stderr + refused.stdout
        assert set_default(" " + key + "\n").returncode == 0
        assert admin.providers.kv.read("platform/default/provider-access-tokens/ionq").data == {
            "api_key": key
        }
    finally:
        run_cli("platform-tokens", "delete", "ionq", env=env, check=False)
