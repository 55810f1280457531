"""Property-based fuzzing of every operation in the served OpenAPI document (schemathesis):
anonymous, with a PAT holding both scopes, and with a session and its CSRF token. Zero server
errors, and every answer matches its documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.conftest import accounts
from tests.helpers import Api
from vault_bridge.app import create_app
from vault_bridge.config import Settings

EXAMPLES = 6  # per operation and credential: the whole run stays within tens of seconds


@pytest.fixture(scope="module")
def fuzzed(
    service_settings: Settings, admin: Any, password_hash: str
) -> Iterator[tuple[Flask, dict[str, Any]]]:
    """An app under test (answers checked against their models) and a user's credentials.

    The account is one of the suite's (``accounts``: its password kept by OpenBao at the least
    bcrypt cost, so that the sign-in before each operation's session cases stays cheap)."""
    app = create_app(Settings.from_env(env={}, **service_settings.model_dump()))
    app.testing = True
    with accounts(admin, password_hash) as build:
        account = build("fz")
        api = Api(app.test_client())
        api.login(account)
        pat = api.new_pat(scopes=("api", "quantum_tokens"))["token"]
        yield app, {"user": account.id, "password": account.password, "pat": pat}
        app.extensions["vault_bridge"].close()


def session_headers(app: Flask, credentials: dict[str, Any]) -> dict[str, str]:
    """A fresh session cookie and its CSRF token (a fuzzed DELETE /session may end the last)."""
    client = app.test_client()
    response = client.post(
        "/api/v1/session",
        json={"username": credentials["user"], "password": credentials["password"]},
    )
    assert response.status_code == 200
    cookie = client.get_cookie("vault_bridge_session")
    assert cookie is not None
    return {
        "Cookie": f"vault_bridge_session={cookie.value}",
        "X-CSRF-Token": response.get_json()["csrf_token"],
    }


def fuzz(operation: Any, headers: dict[str, str]) -> None:
    """Run one operation's generated cases with the given credentials."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        response = case.call(headers={**(case.headers or {}), **headers})
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    check()


@pytest.mark.slow
def test_every_operation_answers_without_errors_of_its_own(fuzzed) -> None:
    app, credentials = fuzzed
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        fuzz(operation, {})
        fuzz(operation, {"X-Auth-Token": credentials["pat"]})
        fuzz(operation, session_headers(app, credentials))
