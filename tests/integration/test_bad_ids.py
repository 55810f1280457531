"""Bad ids in any path are refused before anything reaches Vault (property-based)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import Api
from vault_bridge.ids import is_account_id

NASTY = [
    "..",
    "../x",
    "a/b",
    "a%2fb",
    "%2e%2e",
    "",
    " ",
    "A",
    "ａ",
    "а",
    "a\x00",
    "a\n",
    "x" * 41,
    "a_b",
    "-a",
    "a-",
    "vault-bridge-org-x-owner/../../sys",
]

PATHS = [
    ("get", "/api/v1/orgs/{}"),
    ("delete", "/api/v1/orgs/{}"),
    ("get", "/api/v1/orgs/{}/members"),
    ("put", "/api/v1/orgs/{}/members/someone"),
    ("get", "/api/v1/orgs/{}/provider-access-tokens"),
    ("put", "/api/v1/orgs/{}/provider-access-tokens/ionq"),
    ("get", "/api/v1/user/provider-access-tokens/{}"),
    ("put", "/api/v1/user/provider-access-tokens/{}"),
    ("delete", "/api/v1/user/provider-access-tokens/{}"),
    ("delete", "/api/v1/user/personal-access-tokens/{}"),
]


@pytest.fixture
def quiet_api(make_app, user):
    """A signed-in session on an app whose caches are warm, so a refusal needs no Vault call
    (the background token loop, which polls Vault on its own, is stopped)."""
    app = make_app(directory_cache_ttl=3600)
    api = Api(app.test_client())
    api.login(user)
    api.client.get("/api/v1/user")  # warm the user cache and the session key
    services = app.extensions["vault_bridge"]
    services.tokens.maintenance.close()
    return api, services.client


def attempt(api: Api, method: str, path: str, value: str):
    url = path.format(quote(value, safe=""))
    return getattr(api.client, method)(
        url, json={"role": "viewer", "api_key": "k" * 40}, headers={"X-CSRF-Token": api.csrf}
    )


def test_nasty_ids_touch_nothing(quiet_api) -> None:
    api, vault = quiet_api
    for method, path in PATHS:
        for value in NASTY:
            before = vault.calls
            response = attempt(api, method, path, value)
            assert response.status_code in (400, 404, 405), (path, value, response.status_code)
            if response.status_code != 405:
                assert set(response.get_json()["error"]) == {"code", "message"}
            assert vault.calls == before, f"{method} {path} with {value!r} reached Vault"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.text(min_size=0, max_size=50), index=st.integers(min_value=0, max_value=len(PATHS) - 1)
)
def test_any_invalid_id_is_refused_without_vault(quiet_api, value: str, index: int) -> None:
    method, path = PATHS[index]
    if is_account_id(value) or "{}" not in path:
        return
    if path.endswith("personal-access-tokens/{}"):
        return  # token ids have their own rule, tested in unit tests
    api, vault = quiet_api
    before = vault.calls
    response = attempt(api, method, path, value)
    assert response.status_code in (400, 404, 405)
    assert vault.calls == before
