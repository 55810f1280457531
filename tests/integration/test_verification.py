"""Every way a PAT can be wrong is a 401 with a JSON error, never a 500."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import ISSUER
from tests.helpers import Account, Api, pat_headers
from vault_bridge.tokens.keys import kid_for


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: Any) -> str:
    return b64(json.dumps(obj, separators=(",", ":")).encode())


def valid_claims(sub: str, jti: str) -> dict[str, Any]:
    """Claims that pass every check; each test breaks exactly one thing."""
    now = int(time.time())
    return {
        "iss": ISSUER,
        "sub": sub,
        "aud": "vault-bridge",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": jti,
        "scope": "api",
    }


@pytest.fixture
def app(module_app):
    """The module's one app: every test here only verifies tokens (most are refused) or issues
    one of its own; none changes what another test's tokens depend on."""
    return module_app


@pytest.fixture
def user(module_user: Account) -> Account:
    """The module's one account, for the same reason."""
    return module_user


@pytest.fixture
def forge(admin, user: Account):
    """Sign arbitrary header/claims with the real transit key (as a buggy issuer would)."""
    keys = admin.tokens.keys

    def sign(header: dict[str, Any] | None = None, **claims: Any) -> str:
        key = keys.latest()
        base = valid_claims(user.id, "ab" * 16)
        base.update(claims)
        base = {k: v for k, v in base.items() if v is not None}
        head = {"alg": "EdDSA", "kid": key.kid, "typ": "pat+jwt", **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}
        signing_input = f"{segment(head)}.{segment(base)}"
        _, signature = keys.transit.sign(signing_input.encode(), key_version=key.version)
        return f"{signing_input}.{signature}"

    return sign


def assert_401(client, token: str, code: str | None = None) -> None:
    response = client.get("/api/v1/user", headers=pat_headers(token))
    assert response.status_code == 401, (response.status_code, response.get_data(as_text=True))
    error = response.get_json()["error"]
    assert set(error) == {"code", "message"}
    if code:
        assert error["code"] == code
    if len(token) > 8:
        assert token not in response.get_data(as_text=True)


def test_a_correctly_forged_token_is_accepted(client, forge) -> None:
    """The baseline: the forge helper makes valid tokens, so each refusal below is meaningful."""
    response = client.get("/api/v1/user", headers=pat_headers(forge()))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "....",
        "x" * 5000,
        "eyJhbGciOiJub25lIn0.e30.",
        "é.é.é",
        "a b.c d.e f",
    ],
)
def test_malformed(client, token: str) -> None:
    assert_401(client, token)


def test_tampered_payload(client, api: Api, user: Account) -> None:
    api.login(user)
    token = api.new_pat()["token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "api quantum_tokens"
    assert_401(client, f"{header}.{segment(claims)}.{signature}", "invalid_token")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert_401(client, f"{header}.{payload}.{flipped}", "invalid_token")


def test_alg_none(client, admin, user: Account) -> None:
    kid = admin.tokens.keys.latest().kid
    claims = valid_claims(user.id, "cd" * 16)
    for alg in ("none", "None", "NONE"):
        token = f"{segment({'alg': alg, 'kid': kid, 'typ': 'pat+jwt'})}.{segment(claims)}."
        assert_401(client, token, "invalid_token")


def test_hs256_signed_with_the_public_key(client, admin, user: Account) -> None:
    jwks = admin.tokens.keys.jwks()["keys"][-1]
    claims = valid_claims(user.id, "ef" * 16)
    head = segment({"alg": "HS256", "kid": jwks["kid"], "typ": "pat+jwt"})
    signing_input = f"{head}.{segment(claims)}"
    public_forms = [
        base64.urlsafe_b64decode(jwks["x"] + "=="),
        jwks["x"].encode(),
        json.dumps(jwks).encode(),
    ]
    for secret in public_forms:
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        assert_401(client, f"{signing_input}.{b64(mac)}", "invalid_token")


def test_signed_by_another_ed25519_key(client, admin, user: Account) -> None:
    attacker = Ed25519PrivateKey.generate()
    claims = valid_claims(user.id, "12" * 16)
    header = {"alg": "EdDSA", "kid": admin.tokens.keys.latest().kid, "typ": "pat+jwt"}
    signing_input = f"{segment(header)}.{segment(claims)}"
    token = f"{signing_input}.{b64(attacker.sign(signing_input.encode()))}"
    assert_401(client, token, "invalid_token")


@pytest.mark.parametrize(
    "header",
    [
        {"kid": kid_for("personal-access-tokens", 999)},
        {"kid": "../../sys/raw"},
        {"kid": None},
        {"kid": 1},
        {"typ": "JWT"},
        {"typ": None},
        {"typ": "at+jwt"},
        {"alg": "ES256"},
        {"alg": "RS256"},
    ],
)
def test_bad_header(client, forge, header) -> None:
    assert_401(client, forge(header), "invalid_token")


def test_expired(client, forge) -> None:
    past = int(time.time()) - 3600
    assert_401(client, forge(iat=past - 60, nbf=past - 60, exp=past), "token_expired")


def test_not_yet_valid(client, forge) -> None:
    future = int(time.time()) + 3600
    assert_401(client, forge(nbf=future, exp=future + 60), "invalid_token")


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://evil.example"},
        {"aud": "someone-else"},
        {"aud": ["vault-bridge", "someone-else"]},
        {"scope": "admin"},
        {"scope": ""},
        {"scope": ["api"]},
        {"jti": "../../../etc"},
        {"sub": "../admin"},
        {"sub": "Admin"},
    ],
)
def test_wrong_claims(client, forge, claims) -> None:
    assert_401(client, forge(**claims), "invalid_token")


@pytest.mark.parametrize("missing", ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "scope"])
def test_every_claim_is_required(client, forge, missing: str) -> None:
    assert_401(client, forge(**{missing: None}), "invalid_token")


def test_token_of_unknown_user(client, forge) -> None:
    assert_401(client, forge(sub="no-such-user-xyz"), "user_not_found")


def test_authorization_header_must_be_bearer(client, forge) -> None:
    response = client.get("/api/v1/user", headers={"Authorization": f"Basic {forge()}"})
    assert response.status_code == 401
    assert client.get("/api/v1/user", headers={"Authorization": "Bearer "}).status_code == 401


def test_unknown_kid_does_not_hammer_vault(app, forge) -> None:
    client = app.test_client()
    services = app.extensions["vault_bridge"]
    services.tokens.start()
    token = forge({"kid": kid_for("personal-access-tokens", 12345)})
    before, started = services.client.calls, time.monotonic()
    for _ in range(30):
        assert_401(client, token)
    elapsed = time.monotonic() - started
    # a key refresh at most every 0.25 s, plus the background denylist polls (4/s in tests) and
    # perhaps one scheduled key refresh: bounded by the time taken, not by the 30 requests
    assert services.client.calls - before <= elapsed * (4 + 10) + 3


@pytest.mark.parametrize(
    ("method", "path", "error_of"),
    [
        ("GET", "/api/v1/user", lambda body: body["error"]["code"]),
        ("GET", "/api/v1/user/personal-access-tokens", lambda body: body["error"]["code"]),
        ("POST", "/qc-catalog/authorize", lambda body: body["error"]["code"]),
        ("GET", "/quantum/backends", lambda body: body["error"]),
    ],
)
def test_two_different_tokens_are_ambiguous(
    api: Api, user: Account, make_user, method: str, path: str, error_of
) -> None:
    """Authorization and X-Auth-Token naming different PATs: 400, whichever would verify."""
    api.login(user)
    mine = api.new_pat(scopes=("api", "quantum_tokens"))["token"]
    other = Api(api.client.application.test_client())
    other.login(make_user())
    theirs = other.new_pat(scopes=("api", "quantum_tokens"))["token"]
    client = api.client.application.test_client()  # no session cookie: the PATs alone
    for second in (theirs, "not-a-token", mine + "x"):
        headers = {"Authorization": f"Bearer {mine}", "X-Auth-Token": second}
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == 400, (second[:8], response.get_json())
        assert error_of(response.get_json()) == "ambiguous_credentials"
    same = {"Authorization": f"Bearer {mine}", "X-Auth-Token": f" {mine} "}
    assert client.open(path, method=method, headers=same).status_code == 200


def test_ambiguous_credentials_are_documented(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for scheme in ("bearer", "patHeader"):
        assert (
            "ambiguous_credentials" in spec["components"]["securitySchemes"][scheme]["description"]
        )
