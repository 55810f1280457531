"""A short Vault outage as a replica sees it: what keeps working from memory, and for how long."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.helpers import Account, Api, eventually, pat_headers
from tests.relay import Relay


@pytest.fixture
def relay(bao) -> Iterator[Relay]:
    """The test OpenBao behind a relay the test can cut."""
    relay = Relay(bao.addr)
    yield relay
    relay.cut()


def test_pat_requests_keep_working_from_memory_until_the_staleness_bound(
    make_app, user: Account, relay: Relay
) -> None:
    """The runbook's promise: PAT verification and the account behind it come from memory for
    up to VAULT_BRIDGE_DENYLIST_MAX_STALENESS while Vault is unreachable, then fail closed;
    what needs Vault answers 503 at once; all of it recovers by itself."""
    app = make_app(
        vault_addr=relay.addr,
        vault_timeout=0.5,
        denylist_poll_interval=0.1,
        denylist_max_staleness=3.0,
        directory_cache_ttl=0.2,  # far shorter than the outage below
    )
    api = Api(app.test_client())
    api.login(user)
    pat = api.new_pat()["token"]
    client = app.test_client()
    assert client.get("/api/v1/user", headers=pat_headers(pat)).status_code == 200

    relay.cut()
    cut = time.monotonic()
    time.sleep(0.5)  # past the directory cache's lifetime: the account comes from memory now
    answers = []
    while time.monotonic() - cut < 2.0:  # well within the 3 s bound
        answers.append(client.get("/api/v1/user", headers=pat_headers(pat)).status_code)
        time.sleep(0.1)
    assert answers and set(answers) == {200}
    created = api.client.post(  # a write needs Vault: 503 at once, never a 500
        "/api/v1/user/personal-access-tokens",
        json={"name": "during-the-outage", "scopes": ["api"]},
        headers={"X-CSRF-Token": api.csrf},
    )
    assert created.status_code == 503

    def refused() -> bool:
        response = client.get("/api/v1/user", headers=pat_headers(pat))
        assert response.status_code in (200, 503)
        return response.status_code == 503

    eventually(refused, timeout=10)
    assert time.monotonic() - cut >= 2.5  # not before the bound (counted from the last poll)
    # The account's copy may lapse a moment before the revocations' (it was read a little
    # earlier): 503 vault_unavailable until the revocations' bound passes too, then
    # denylist_stale; never a 200 again while Vault is away.
    codes: list[str] = []

    def revocations_stale() -> bool:
        response = client.get("/api/v1/user", headers=pat_headers(pat))
        assert response.status_code == 503
        codes.append(response.get_json()["error"]["code"])
        return codes[-1] == "denylist_stale"

    eventually(revocations_stale, timeout=5)
    assert set(codes) <= {"vault_unavailable", "denylist_stale"}

    relay.restore()
    eventually(
        lambda: client.get("/api/v1/user", headers=pat_headers(pat)).status_code == 200,
        timeout=10,
    )
