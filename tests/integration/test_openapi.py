"""The OpenAPI document describes every endpoint the app serves, and only those."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate


def documented(app) -> set[tuple[str, str]]:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    return {
        (path, method.upper())
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete", "patch"}
    }


def served(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("web."):
            continue  # the settings UI's pages are not part of the JSON API
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((path, method))
    return routes


def test_every_route_is_documented_and_nothing_else(app) -> None:
    assert documented(app) == served(app)


def test_document_is_valid_openapi(app) -> None:
    validate(app.test_client().get("/api/v1/openapi.json").get_json())


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/healthz", "/.well-known/jwks.json"])
def test_public_endpoints_need_no_auth(client, path: str) -> None:
    assert client.get(path).status_code == 200


def test_unknown_paths_are_json_404(client) -> None:
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.put("/api/v1/user")
    assert response.status_code == 405
    assert set(response.get_json()["error"]) == {"code", "message"}


def test_document_is_generated_from_the_route_models(app) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    create = spec["paths"]["/api/v1/user/personal-access-tokens"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CreateToken"}
    fields = spec["components"]["schemas"]["CreateToken"]["properties"]
    assert fields["name"]["x-error-code"] == "invalid_name"
    assert set(spec["components"]["securitySchemes"]) == {
        "bearer",
        "patHeader",
        "session",
        "csrf",
        "runnerToken",
    }
    assert create["security"] == [{"session": [], "csrf": []}]
