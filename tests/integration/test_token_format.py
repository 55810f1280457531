"""The PAT format: a recognisable prefix before the JWS, the secret scanners' rule files, and
tokens issued before the prefix still accepted until they expire."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import jwt
import pytest
import yaml

from tests.helpers import PAT_PREFIX, Account, Api, eventually, jws, pat_headers
from vault_bridge.config import ConfigError, Settings
from vault_bridge.services import Services
from vault_bridge.tokens.signing import PatClaims, scanner_pattern, sign

RULES = Path(__file__).resolve().parents[2] / "tools" / "secret-scanning"


def scanner_regexes() -> dict[str, str]:
    gitleaks = tomllib.loads((RULES / "gitleaks.toml").read_text())
    trufflehog = yaml.safe_load((RULES / "trufflehog.yaml").read_text())
    return {
        "documented": scanner_pattern(PAT_PREFIX),
        "gitleaks": gitleaks["rules"][0]["regex"],
        "trufflehog": trufflehog["detectors"][0]["regex"]["token"],
    }


def test_rule_files_carry_the_documented_expression() -> None:
    found = scanner_regexes()
    assert found["gitleaks"] == found["trufflehog"] == found["documented"]
    docs = (RULES.parents[1] / "docs" / "api.md").read_text()
    assert found["documented"] in docs


def test_scanner_rules_match_issued_tokens_and_nothing_like_them(
    admin: Services, user: Account
) -> None:
    issued = [admin.tokens.issue(user.id, f"scan-{i}", ["api"])[1] for i in range(5)]
    other_jwts = [
        jwt.encode({"sub": "x", "scope": "api"}, "s" * 32, algorithm="HS256"),
        jws(issued[0]),  # a bare JWS, as issued before the prefix
        "vbpat_" + "a" * 200,
        "vbpat_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",  # a short signature
        "xvbpat_" + jws(issued[0]),  # inside another word
        "ghp_" + "A" * 36,
    ]
    for name, expression in scanner_regexes().items():
        pattern = re.compile(expression)
        for token in issued:
            line = f'PLANQK_PERSONAL_ACCESS_TOKEN="{token}"\n'
            found = pattern.search(line)
            assert found and found.group(0) == token, name
        for text in other_jwts:
            assert pattern.search(f"export T={text}") is None, (name, text)


def test_issued_tokens_carry_the_prefix_and_verify(api: Api, user: Account, client) -> None:
    api.login(user)
    token = api.new_pat()["token"]
    assert token.startswith("vbpat_eyJ")
    assert client.get("/api/v1/user", headers=pat_headers(token)).status_code == 200


def test_tokens_issued_before_the_prefix_keep_working_until_they_expire(
    admin: Services, user: Account, client
) -> None:
    record, prefixed = admin.tokens.issue(user.id, "then", ["api"])
    bare = jws(prefixed)  # what an earlier version handed out: the same JWS, no prefix
    assert client.get("/api/v1/user", headers=pat_headers(bare)).status_code == 200
    admin.tokens.revoke(user.id, record["id"])
    for token in (bare, prefixed):
        eventually(
            lambda t=token: client.get("/api/v1/user", headers=pat_headers(t)).status_code == 401
        )


def test_a_configured_prefix_is_used_and_required_to_be_sane(make_app, user: Account) -> None:
    app = make_app(pat_prefix="acme-pat-")
    tokens = app.extensions["vault_bridge"].tokens
    _, token = tokens.issue(user.id, "custom", ["api"])
    assert token.startswith("acme-pat-eyJ")
    assert re.fullmatch(scanner_pattern("acme-pat-"), token)
    assert app.test_client().get("/api/v1/user", headers=pat_headers(token)).status_code == 200
    for bad in ("eyJ", "vb pat_", "x" * 20 + "_", "pat", "ü_"):
        with pytest.raises(ConfigError):
            Settings.from_env(env={"VAULT_BRIDGE_PAT_PREFIX": bad})
    assert Settings.from_env(env={}).pat_prefix == "vbpat_"


def test_a_foreign_prefix_is_not_stripped(admin: Services, user: Account, client) -> None:
    _, token = admin.tokens.issue(user.id, "foreign", ["api"])
    answer = client.get("/api/v1/user", headers=pat_headers("ghp_" + jws(token)))
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "invalid_token"


def test_sign_is_a_plain_jws(admin: Services, user: Account) -> None:
    claims = PatClaims(
        "https://vault-bridge.test", "vault-bridge", user.id, "ab" * 16, ("api",), 1, 2
    )
    assert sign(admin.tokens.keys, claims).count(".") == 2
