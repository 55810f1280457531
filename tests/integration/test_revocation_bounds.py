"""Revocation as replicas meet it: the expiry edge, and the 1 s bound while the replica is busy."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time

import pytest

from tests.helpers import eventually, pat_headers
from vault_bridge.services import Services
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.tokens.verify import LEEWAY_SECONDS, VerifiedToken


@pytest.mark.slow
def test_a_revoked_token_stays_refused_through_and_past_its_expiry_on_every_replica(
    make_app, make_user, admin: Services
) -> None:
    replicas = [make_app(), make_app()]
    account = make_user()
    expiry = now_utc() + dt.timedelta(seconds=2)
    record, token = admin.tokens.issue(account.id, "short-lived", ["api"], iso(expiry))
    clients = [replica.test_client() for replica in replicas]
    for client in clients:  # each replica has verified (and cached) the token
        assert client.get("/api/v1/user", headers=pat_headers(token)).status_code == 200
    replicas[0].extensions["vault_bridge"].tokens.revoke(account.id, record["id"])
    eventually(
        lambda: clients[1].get("/api/v1/user", headers=pat_headers(token)).status_code == 401,
        timeout=1.0,
    )
    # verification accepts a token until exp + leeway: the revocation must hold that long, also
    # when other revocations happen after the expiry (they make replicas tidy up)
    other = admin.tokens.issue(account.id, "other", ["api"])[0]
    until = expiry.timestamp() + LEEWAY_SECONDS + 1.5
    answers: list[tuple[float, int, str]] = []
    while time.time() < until:
        if other and time.time() > expiry.timestamp() + 0.5:
            replicas[1].extensions["vault_bridge"].tokens.revoke(account.id, other["id"])
            other = None
        for client in clients:
            response = client.get("/api/v1/user", headers=pat_headers(token))
            answers.append(
                (
                    time.time(),
                    response.status_code,
                    (response.get_json().get("error") or {}).get("code", ""),
                )
            )
        time.sleep(0.05)
    assert {status for _, status, _ in answers} == {401}, answers
    after_expiry = [code for at, _, code in answers if expiry.timestamp() + 0.5 < at < until - 2]
    assert after_expiry and set(after_expiry) == {"token_revoked"}


@pytest.mark.slow
def test_the_revocation_bound_holds_while_the_replica_is_busy(make_app, make_user) -> None:
    replica_a, replica_b = make_app(), make_app(last_used_interval=0.5)  # B flushes in the test
    account = make_user()
    services_a = replica_a.extensions["vault_bridge"]
    victim = services_a.tokens.issue(account.id, "victim", ["api"])
    _, bystander = services_a.tokens.issue(account.id, "bystander", ["api"])
    client_b = replica_b.test_client()
    for token in (victim[1], bystander):
        assert client_b.get("/api/v1/user", headers=pat_headers(token)).status_code == 200
    usage_b = replica_b.extensions["vault_bridge"].tokens.usage
    # first uses of 1,000 tokens of as many users: the next flush on B updates each user's index,
    # two Vault calls each, so it lasts at least 2 s even on a fast machine: twice the bound the
    # revocation must meet meanwhile (and the teardown waits for the rest of it)
    exp = int(time.time()) + 3600
    for _ in range(1000):
        user = f"g-{secrets.token_hex(6)}"
        ghost = VerifiedToken(secrets.token_hex(16), user, frozenset(), exp, 0)
        usage_b.touch(ghost, "192.0.2.1")
    stop = threading.Event()

    def spin() -> None:  # and a thread that keeps the interpreter busy
        while not stop.is_set():
            sum(range(10_000))

    hog = threading.Thread(target=spin, daemon=True)
    hog.start()
    try:
        deadline = time.monotonic() + 3
        while not usage_b.flushing and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until the flush is under way
        assert usage_b.flushing, "the last-used flush did not start"
        services_a.tokens.revoke(account.id, victim[0]["id"])
        started = time.monotonic()
        statuses = []
        while True:
            seen = client_b.get("/api/v1/user", headers=pat_headers(victim[1])).status_code
            statuses.append(
                client_b.get("/api/v1/user", headers=pat_headers(bystander)).status_code
            )
            if seen == 401:
                break
            assert time.monotonic() - started < 1.0, "replica B still accepts the revoked token"
            time.sleep(0.02)
        assert set(statuses) == {200}  # and no false 503 meanwhile
        assert usage_b.flushing, "the flush finished first: the replica was not busy"
    finally:
        stop.set()
        hog.join()
