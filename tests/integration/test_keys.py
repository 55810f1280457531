"""Signing keys: JWKS, offline verification with plain PyJWT, rotation without restart."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.conftest import ISSUER
from tests.helpers import Account, Api, eventually, jws, pat_headers
from vault_bridge.config import Settings
from vault_bridge.services import Services
from vault_bridge.tokens.keys import kid_for
from vault_bridge.vault.transit import Transit


def verify_offline(token: str, jwks: dict) -> dict:
    """What any other platform service would do with the published JWKS and plain PyJWT:
    strip the prefix, then verify the JWS."""
    token = jws(token)
    header = jwt.get_unverified_header(token)
    assert header["typ"] == "pat+jwt"
    key = jwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    return jwt.decode(
        token,
        key.key,
        algorithms=["EdDSA"],
        audience="vault-bridge",
        issuer=ISSUER,
        options={"require": ["iss", "sub", "aud", "iat", "nbf", "exp", "jti", "scope"]},
    )


def test_pat_verifies_offline_with_the_jwks(api: Api, user: Account) -> None:
    api.login(user)
    created = api.new_pat(scopes=["api", "quantum_tokens"])
    response = api.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    jwks = response.get_json()
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in jwks["keys"])
    claims = verify_offline(created["token"], jwks)
    assert claims["sub"] == user.id
    assert claims["jti"] == created["id"]
    assert claims["scope"] == "api quantum_tokens"
    assert claims["aud"] == "vault-bridge"
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(
            jws(created["token"]),
            jwt.PyJWKSet.from_dict(jwks)[
                jwt.get_unverified_header(jws(created["token"]))["kid"]
            ].key,
            algorithms=["EdDSA"],
            audience="another-service",
        )


def test_rotation_with_the_bao_cli_is_picked_up_without_restart(
    make_app, user: Account, bao_cli, admin_client, admin
) -> None:
    app = make_app(key_refresh_interval=0.3)
    api = Api(app.test_client())
    api.login(user)
    old = api.new_pat("before-rotation")
    old_kid = jwt.get_unverified_header(jws(old["token"]))["kid"]

    bao_cli(
        "write",
        "-f",
        "vault-bridge-transit/keys/personal-access-tokens/rotate",
        token=admin_client.token,
    )
    latest = Transit(admin_client, "vault-bridge-transit", "personal-access-tokens").read_key()[
        "latest_version"
    ]
    new_kid = kid_for("personal-access-tokens", latest)
    assert new_kid != old_kid

    eventually(lambda: _new_kid(api) == new_kid, interval=0.2)
    kids = [k["kid"] for k in api.client.get("/.well-known/jwks.json").get_json()["keys"]]
    assert old_kid in kids and new_kid in kids
    anon = app.test_client()
    assert anon.get("/api/v1/user", headers=pat_headers(old["token"])).status_code == 200


def _new_kid(api: Api) -> str:
    return jwt.get_unverified_header(jws(api.new_pat()["token"]))["kid"]


def test_token_with_a_kid_from_a_rotation_this_replica_has_not_seen_verifies(
    make_app, user: Account, admin
) -> None:
    slow = make_app(key_refresh_interval=3600)  # would not notice the rotation on its own
    slow.extensions["vault_bridge"].tokens.start()
    time.sleep(0.3)  # refreshes on a new kid are rate limited to one per 0.25 s
    admin.tokens.keys.transit.rotate()
    admin.tokens.keys.refresh()
    _, token = admin.tokens.issue(user.id, "from-cli", ["api"])
    response = slow.test_client().get("/api/v1/user", headers=pat_headers(token))
    assert response.status_code == 200  # unknown kid -> one refresh -> found


def test_retired_key_versions_stop_verifying(make_app, user: Account, admin, admin_client) -> None:
    app = make_app()
    api = Api(app.test_client())
    api.login(user)
    old = api.new_pat("old-key")
    admin.tokens.keys.transit.rotate()
    transit = admin.tokens.keys.transit
    latest = transit.read_key()["latest_version"]
    admin_client.write(
        f"{transit.mount}/keys/{transit.key}/config", {"min_decryption_version": latest}
    )
    try:
        fresh = make_app()  # a new replica reads the key config at start
        response = fresh.test_client().get("/api/v1/user", headers=pat_headers(old["token"]))
        assert response.status_code == 401
        kids = [
            k["kid"] for k in fresh.test_client().get("/.well-known/jwks.json").get_json()["keys"]
        ]
        assert kids == [kid_for("personal-access-tokens", latest)]
    finally:
        admin_client.write(
            f"{transit.mount}/keys/{transit.key}/config", {"min_decryption_version": 1}
        )


def test_p256_keys_sign_es256_tokens(base_settings: Settings, admin_client, make_user) -> None:
    settings = Settings.from_env(
        env={},
        vault_addr=base_settings.vault_addr,
        issuer=ISSUER,
        transit_key="pat-p256-test",
        key_type="ecdsa-p256",
    )
    Transit(admin_client, settings.transit_mount, settings.transit_key).create_key("ecdsa-p256")
    services = Services(settings, admin_client)
    try:
        account = make_user()
        _, token = services.tokens.issue(account.id, "p256", ["api"])
        assert jwt.get_unverified_header(jws(token))["alg"] == "ES256"
        jwks = services.tokens.keys.jwks()
        assert jwks["keys"][0]["kty"] == "EC" and jwks["keys"][0]["crv"] == "P-256"
        key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(jws(token))["kid"]]
        claims = jwt.decode(jws(token), key.key, algorithms=["ES256"], audience="vault-bridge")
        assert claims["sub"] == account.id
        assert services.tokens.verify(token).user == account.id
    finally:
        services.close()


def test_retiring_a_key_ends_cached_verifications_on_every_replica(
    make_app, make_user, admin_client, base_settings
) -> None:
    """A PAT already verified (and cached) on two replicas stops working on both once its key
    version is retired with the Vault CLI, within the key check bound, with no restart."""
    key = f"pat-retire-{time.monotonic_ns()}"
    transit = Transit(admin_client, base_settings.transit_mount, key)
    transit.create_key("ed25519")
    own = {  # a key of its own: retiring it leaves every other test's tokens alone
        "transit_key": key,
        "vault_token": admin_client.token,
        "role_id": "",
        "secret_id": "",
        "key_refresh_interval": 3600,  # only the raft index check can notice in time
        "key_check_interval": 0.2,
    }
    one, two = make_app(**own), make_app(**own)
    account = make_user()
    services = one.extensions["vault_bridge"]
    _, old = services.tokens.issue(account.id, "before-retirement", ["api"])
    for app in (one, two):
        assert app.test_client().get("/api/v1/user", headers=pat_headers(old)).status_code == 200
    transit.rotate()
    latest = transit.read_key()["latest_version"]
    admin_client.write(
        f"{base_settings.transit_mount}/keys/{key}/config", {"min_decryption_version": latest}
    )

    def refused(app) -> bool:
        response = app.test_client().get("/api/v1/user", headers=pat_headers(old))
        return response.status_code == 401 and response.get_json()["error"]["code"] == (
            "invalid_token"
        )

    for app in (one, two):
        eventually(lambda app=app: refused(app), timeout=2.0, interval=0.05)
    services.tokens.keys.refresh()
    _, new = services.tokens.issue(account.id, "after-retirement", ["api"])
    assert jwt.get_unverified_header(jws(new))["kid"] == kid_for(key, latest)
    for app in (one, two):
        assert app.test_client().get("/api/v1/user", headers=pat_headers(new)).status_code == 200
        kids = [
            k["kid"] for k in app.test_client().get("/.well-known/jwks.json").get_json()["keys"]
        ]
        assert kids == [kid_for(key, latest)]
