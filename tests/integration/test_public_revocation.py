"""Public revocation of leaked PATs by value (POST /api/v1/credentials/revoke) against the real
OpenBao: a leaked token stops on every replica, anything else changes nothing, and the answer
never tells which tokens were real."""

from __future__ import annotations

import base64
import json
import statistics
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import ISSUER
from tests.helpers import Api, eventually, jws, pat_headers
from vault_bridge.tokens.reports import Report

URL = "/api/v1/credentials/revoke"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def foreign_token(user: str, kid: str) -> str:
    """A well-formed PAT for ``user`` signed by a key that is not the service's."""
    now = int(time.time())
    header = {"alg": "EdDSA", "kid": kid, "typ": "pat+jwt"}
    claims = {
        "iss": ISSUER,
        "sub": user,
        "aud": "vault-bridge",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "cd" * 16,
        "scope": "api",
    }
    signing_input = ".".join(b64(json.dumps(part).encode()) for part in (header, claims))
    signature = Ed25519PrivateKey.generate().sign(signing_input.encode())
    return f"{signing_input}.{b64(signature)}"


def works(client, token: str) -> bool:
    return client.get("/api/v1/user", headers=pat_headers(token)).status_code == 200


def drain(app) -> None:
    assert app.extensions["vault_bridge"].tokens.reports.drain()


def test_a_leaked_token_stops_working_on_another_replica_within_the_bound(
    make_app, make_user
) -> None:
    replica_a, replica_b = make_app(), make_app()
    account = make_user()
    api = Api(replica_a.test_client())
    api.login(account)
    leaked, kept = api.new_pat(), api.new_pat()
    client_b = replica_b.test_client()
    assert works(client_b, leaked["token"])

    anonymous = replica_a.test_client()
    started = time.monotonic()
    response = anonymous.post(URL, json={"tokens": [leaked["token"]]})
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 1}
    eventually(lambda: not works(client_b, leaked["token"]), timeout=1.5)
    assert time.monotonic() - started < 1.5  # the 1 s bound, plus the report's queueing
    assert works(client_b, kept["token"])  # only the reported one

    drain(replica_a)  # the index notes when and by whom after the denylist write
    listed = api.client.get("/api/v1/user/personal-access-tokens?state=inactive").get_json()
    (record,) = [r for r in listed if r["id"] == leaked["id"]]
    assert record["state"] == "revoked"
    assert record["revoked_by"] == "public"


def test_a_token_without_its_prefix_and_with_spaces_is_revoked_too(app, make_user) -> None:
    account = make_user()
    api = Api(app.test_client())
    api.login(account)
    created = api.new_pat()
    response = app.test_client().post(URL, json={"tokens": [f"  {jws(created['token'])}\n"]})
    assert response.status_code == 202
    drain(app)
    assert not works(app.test_client(), created["token"])


def test_forged_garbage_and_foreign_tokens_change_nothing(app, make_user, admin) -> None:
    account = make_user()
    api = Api(app.test_client())
    api.login(account)
    created = api.new_pat()
    services = app.extensions["vault_bridge"]
    denylist = services.tokens.denylist
    before = len(denylist)
    token = created["token"]
    body = jws(token)
    head, payload, signature = body.split(".")
    tampered_claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    tampered_claims["jti"] = "ef" * 16
    tampered = f"{head}.{b64(json.dumps(tampered_claims).encode())}.{signature}"
    junk = [
        "",
        "garbage",
        "vbpat_",
        "a.b.c",
        token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),  # signature broken
        tampered,  # another token id under a real signature
        foreign_token(account.id, admin.tokens.keys.latest().kid),
        "x" * 4000,
        "\u00e9\u00e8" * 10,
    ]
    response = app.test_client().post(URL, json={"tokens": junk})
    assert response.status_code == 202
    assert response.get_json() == {"accepted": len(junk)}
    drain(app)
    assert len(denylist) == before
    assert works(app.test_client(), token)
    listed = api.client.get("/api/v1/user/personal-access-tokens").get_json()
    assert [r["id"] for r in listed] == [created["id"]]


def test_valid_and_invalid_tokens_get_identical_answers_in_similar_time(app, make_user) -> None:
    account = make_user()
    api = Api(app.test_client())
    api.login(account)
    real = [api.new_pat(name=f"leak-{n}")["token"] for n in range(10)]
    fake = [t[:-6] + "AAAAAA" for t in real]
    anonymous = app.test_client()
    answers: dict[str, list[tuple[int, bytes, float]]] = {"real": [], "fake": []}
    for n in range(10):
        for kind, token in (("real", real[n]), ("fake", fake[n])):
            started = time.perf_counter()
            response = anonymous.post(URL, json={"tokens": [token]})
            took = time.perf_counter() - started
            answers[kind].append((response.status_code, response.get_data(), took))
    drain(app)
    shapes = {(status, data) for kind in answers for status, data, _ in answers[kind]}
    assert shapes == {(202, b'{"accepted":1}\n')}
    real_median = statistics.median(took for *_, took in answers["real"])
    fake_median = statistics.median(took for *_, took in answers["fake"])
    # the Vault writes happen after the answer: a real token is not measurably slower
    assert real_median < fake_median * 3 + 0.005, (real_median, fake_median)
    assert not any(works(anonymous, token) for token in real)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tokens": "vbpat_x"}, "tokens"),
        ({"tokens": [1, 2]}, "tokens"),
        ({"tokens": [None]}, "tokens"),
        ({"tokens": [["nested"]]}, "tokens"),
        ({"tokens": ["x"] * 1001}, "tokens"),
        ({"tokens": ["x" * 5000]}, "tokens"),
        ({}, "tokens"),
    ],
)
def test_a_malformed_report_is_a_400_and_changes_nothing(app, body, field) -> None:
    denylist = app.extensions["vault_bridge"].tokens.denylist
    before = len(denylist)
    response = app.test_client().post(URL, json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["field"] == field
    assert set(error) == {"code", "message", "field"}
    assert len(denylist) == before


@pytest.mark.parametrize("data", [b"not json", b"[]", b'"tokens"'])
def test_a_report_that_is_not_a_json_object_is_a_400(app, data) -> None:
    response = app.test_client().post(URL, data=data, content_type="application/json")
    assert response.status_code == 400
    assert set(response.get_json()["error"]) >= {"code", "message"}


def test_a_full_report_of_a_thousand_tokens_is_taken(app, make_user) -> None:
    account = make_user()
    api = Api(app.test_client())
    api.login(account)
    created = api.new_pat()
    filler = [created["token"][:-4] + f"{n:04d}" for n in range(999)]
    response = app.test_client().post(URL, json={"tokens": [*filler, created["token"]]})
    assert response.status_code == 202
    assert response.get_json() == {"accepted": 1000}
    drain(app)
    assert not works(app.test_client(), created["token"])


def test_reports_are_rate_limited_per_client_address(make_app) -> None:
    app = make_app(public_revoke_per_minute=3)
    client = app.test_client()
    for _ in range(3):
        assert client.post(URL, json={"tokens": ["x"]}).status_code == 202
    refused = client.post(URL, json={"tokens": ["x"]})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    other = app.test_client().post(
        URL, json={"tokens": ["x"]}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert other.status_code == 202


def test_reports_are_audited_without_token_values(make_app, make_user, tmp_path: Path) -> None:
    audit_path = tmp_path / "audit.log"
    app = make_app(audit_log=str(audit_path))
    account = make_user()
    api = Api(app.test_client())
    api.login(account)
    created = api.new_pat()
    junk = "vbpat_" + "q" * 40
    app.test_client().post(URL, json={"tokens": [created["token"], junk]})
    drain(app)
    text = audit_path.read_text()
    assert created["token"] not in text
    assert jws(created["token"]) not in text
    assert junk not in text
    events = [json.loads(line) for line in text.splitlines()]
    (report,) = [e for e in events if e["event"] == "pat.report"]
    assert report["reported"] == 2
    assert report["revoked"] == 1
    assert report["address"] == "127.0.0.1"
    (revoked,) = [e for e in events if e["event"] == "pat.revoke"]
    assert revoked["target"] == created["id"]
    assert revoked["owner"] == account.id
    assert revoked["method"] == "public_report"


def test_a_token_reported_twice_is_revoked_once(app, make_user) -> None:
    account = make_user()
    api = Api(app.test_client())
    api.login(account)
    created = api.new_pat()
    reports = app.extensions["vault_bridge"].tokens.reports
    anonymous = app.test_client()
    anonymous.post(URL, json={"tokens": [created["token"], created["token"]]})
    drain(app)
    assert reports.process(Report((created["token"],), "127.0.0.1", None)) == []
