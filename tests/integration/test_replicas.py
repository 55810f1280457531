"""Two service instances sharing one Vault: revocation reaches the other within 1 s, fail closed."""

from __future__ import annotations

import json
import threading
import time

import jwt
import pytest
from jwt.utils import base64url_decode, base64url_encode

from tests.helpers import PAT_PREFIX, Account, Api, eventually, jws, pat_headers
from vault_bridge.vault.client import VaultClient


def test_revocation_on_one_replica_reaches_the_other_within_a_second(make_app, make_user) -> None:
    replica_a, replica_b = make_app(), make_app()
    account = make_user()
    api = Api(replica_a.test_client())
    api.login(account)
    created = api.new_pat()
    client_b = replica_b.test_client()
    assert client_b.get("/api/v1/user", headers=pat_headers(created["token"])).status_code == 200

    services_b = replica_b.extensions["vault_bridge"]
    calls_before = services_b.client.calls
    started = time.monotonic()
    response = api.client.delete(
        f"/api/v1/user/personal-access-tokens/{created['id']}", headers={"X-CSRF-Token": api.csrf}
    )
    assert response.status_code == 204
    took = eventually(
        lambda: (
            client_b.get("/api/v1/user", headers=pat_headers(created["token"])).status_code == 401
        ),
        timeout=1.0,
    )
    assert took < 1.0
    elapsed = time.monotonic() - started
    # replica B learned it from its poller, not from a Vault call per request: polling at 4/s
    # (test setting), at most a raft index and a log slot each, plus one shard read
    assert services_b.client.calls - calls_before <= elapsed * 10 + 4


@pytest.mark.fills_denylist
def test_quiet_poll_costs_one_read_whatever_the_denylist_size(make_app, admin) -> None:
    replica = make_app()
    services = replica.extensions["vault_bridge"]
    services.tokens.start()
    # a big denylist: 2,000 revoked ids spread over the shards
    import secrets

    far = int(time.time()) + 3600
    admin.tokens.denylist.add({secrets.token_hex(16): far for _ in range(2000)})
    eventually(lambda: len(services.tokens.denylist) >= 2000)
    services.tokens.close()  # stop the background thread, then measure sync by hand
    before = services.client.calls
    for _ in range(20):
        services.tokens.denylist.sync()
    assert services.client.calls - before == 20


def test_concurrent_revocations_from_two_replicas_are_both_kept(make_app, make_user) -> None:
    import threading

    replica_a, replica_b = make_app(), make_app()
    account = make_user()
    api = Api(replica_a.test_client())
    api.login(account)
    tokens = [api.new_pat() for _ in range(6)]
    services = [replica_a.extensions["vault_bridge"], replica_b.extensions["vault_bridge"]]
    errors: list[Exception] = []

    def revoke(index: int) -> None:
        try:
            services[index % 2].tokens.revoke(account.id, tokens[index]["id"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=revoke, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    fresh = make_app().extensions["vault_bridge"]
    fresh.tokens.start()
    for token in tokens:
        assert fresh.tokens.denylist.is_revoked(token["id"])


def test_fails_closed_when_the_denylist_cannot_be_refreshed(
    make_app, make_user, admin_client, bao
) -> None:
    # an instance with its own Vault token that we can revoke under it
    body = admin_client.write(
        "auth/token/create", {"policies": ["vault-bridge-service"], "ttl": "10m", "no_parent": True}
    )
    token = body["auth"]["client_token"]
    replica = make_app(
        role_id="",
        secret_id="",
        vault_token=token,
        denylist_max_staleness=0.5,
        denylist_poll_interval=0.1,
        directory_cache_ttl=60,  # the account stays cached: the denylist is what goes stale
    )
    account = make_user()
    api = Api(replica.test_client())
    api.login(account)
    pat = api.new_pat()["token"]
    client = replica.test_client()
    assert client.get("/api/v1/user", headers=pat_headers(pat)).status_code == 200

    VaultClient(bao.addr, token=token).request("POST", "auth/token/revoke-self")
    answers: list[tuple[int, str]] = []

    def stale() -> bool:
        response = client.get("/api/v1/user", headers=pat_headers(pat))
        error = (response.get_json() or {}).get("error") or {}
        answers.append((response.status_code, error.get("code", "")))
        return answers[-1] == (503, "denylist_stale")

    # until the denylist passes its staleness bound, the user cached by the directory may still
    # answer (200) and then the directory's own Vault read is refused (vault_forbidden): both are
    # right, and once refused it stays refused
    eventually(stale)
    served = [answer for answer in answers if answer[0] == 200]
    assert answers[: len(served)] == served
    assert set(answers[len(served) :]) <= {(503, "vault_forbidden"), (503, "denylist_stale")}
    response = client.get("/api/v1/user", headers=pat_headers(pat))
    assert response.get_json()["error"]["code"] == "denylist_stale"
    assert replica.test_client().get("/readyz").status_code == 503


def _with_kid(token: str, kid: str) -> str:
    """The token with another ``kid`` in its header (its signature no longer matches)."""
    header, payload, signature = jws(token).split(".")
    fields = json.loads(base64url_decode(header))
    fields["kid"] = kid
    encoded = base64url_encode(json.dumps(fields, separators=(",", ":")).encode()).decode()
    return f"{PAT_PREFIX}{encoded}.{payload}.{signature}"


def test_vault_unreachable_is_503_not_500(make_app, admin, make_user) -> None:
    from tests.helpers import free_port

    account = make_user()
    _, real = admin.tokens.issue(account.id, "outage", ["api"])
    kid = jwt.get_unverified_header(jws(real))["kid"]
    key_name, _, version = kid.rpartition("-v")
    well_formed = {
        "real": real,
        "forged signature": real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB"),
        "newer key version": _with_kid(real, f"{key_name}-v{int(version) + 5}"),
    }
    replica = make_app(vault_addr=f"http://127.0.0.1:{free_port()}", vault_timeout=0.5)
    client = replica.test_client()
    response = client.post("/api/v1/session", json={"username": "someone", "password": "x" * 10})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "vault_unavailable"

    # A PAT that could be genuine is never refused while the keys cannot be read: a 401 makes
    # clients forget their credentials. Asked in quick succession (the key refresh is rate
    # limited) and again after the rate limit, on every surface that takes a PAT.
    for round_ in range(2):
        for what, token in well_formed.items():
            for header in ("X-Auth-Token", "Authorization"):
                response = client.get("/api/v1/user", headers=pat_headers(token, header))
                assert response.status_code == 503, (round_, what, header, response.get_json())
                assert response.get_json()["error"]["code"] == "vault_unavailable"
            response = client.post("/qc-catalog/authorize", headers=pat_headers(token))
            assert response.status_code == 503, (round_, what, response.get_json())
        time.sleep(0.3)

    # what is not a PAT at all is refused without Vault
    response = client.get("/api/v1/user", headers={"X-Auth-Token": "a.b.c"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_token"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["vault"] == "unreachable"
    assert client.get("/healthz").status_code == 200


def test_last_used_reaches_vault_and_other_replicas(make_app, user: Account) -> None:
    replica_a, replica_b = make_app(last_used_interval=0.5), make_app()
    api = Api(replica_a.test_client())
    api.login(user)
    created = api.new_pat()
    replica_a.test_client().get("/api/v1/user", headers=pat_headers(created["token"]))
    api_b = Api(replica_b.test_client())
    api_b.login(user)

    def seen_on_b() -> bool:
        listed = api_b.client.get("/api/v1/user/personal-access-tokens").get_json()
        return listed[0]["last_used_at"] is not None

    eventually(seen_on_b, timeout=8)  # flushed by A's maintenance loop (every 0.5 s here)


def test_operator_services_verify_without_a_background_loop(
    admin, admin_client, base_settings, make_user
) -> None:
    """What the CLI builds is never started: it reads the denylist when it needs it, and sees a
    revocation made elsewhere within one poll interval, without a thread of its own."""
    from vault_bridge.errors import Unauthenticated
    from vault_bridge.services import Services

    threads_before = {t.ident for t in threading.enumerate()}
    operator = Services(base_settings, admin_client)
    try:
        account = make_user()
        record, token = admin.tokens.issue(account.id, "operator-view", ["api"])
        assert operator.tokens.verify(token).user == account.id
        admin.tokens.revoke(account.id, record["id"])
        time.sleep(base_settings.denylist_poll_interval * 1.5)
        with pytest.raises(Unauthenticated) as refused:
            operator.tokens.verify(token)
        assert refused.value.code == "token_revoked"
        assert not operator.tokens.maintenance.running
        assert {t.ident for t in threading.enumerate()} <= threads_before
    finally:
        operator.close()
