"""Recording last use: batched per user (a bounded number of Vault calls per interval, however
many tokens were used), in a thread of its own, and every in-memory map bounded."""

from __future__ import annotations

import secrets
import threading
import time

from tests.helpers import Account, Api, eventually, pat_headers
from vault_bridge.services import Services
from vault_bridge.tokens.usage import UsageTracker
from vault_bridge.tokens.verify import VerifiedToken, Verifier


def _ghost(user: str = "nobody") -> VerifiedToken:
    return VerifiedToken(secrets.token_hex(16), user, frozenset({"api"}), 2**31, 0)


def test_every_map_of_the_usage_tracker_is_bounded(admin: Services) -> None:
    tracker = UsageTracker(admin.tokens.index, max_pending=10, max_seen=25)
    for i in range(200):
        token = _ghost()
        for address in ("192.0.2.1", "192.0.2.2", f"198.51.100.{i % 200}"):
            tracker.touch(token, address, orgs=["acme"])
    assert len(tracker) == 10
    assert tracker.dropped == 190 * 3
    assert len(tracker._seen) == 25
    kept = next(iter(tracker._pending.values()))
    assert len(kept.addresses) == 3 and list(kept.orgs) == ["acme"]


def test_the_verified_token_cache_is_bounded(admin: Services, user: Account) -> None:
    tokens = admin.tokens
    verifier = Verifier(
        tokens.keys,
        tokens.denylist,
        issuer=tokens.settings.issuer,
        audience=tokens.settings.audience,
        cache_limit=4,
        confirm_fresh=tokens._confirm_revocations,
        prefix=tokens.settings.pat_prefix,
    )
    issued = [tokens.issue(user.id, f"c{i}", ["api"])[1] for i in range(9)]
    for token in issued:
        verifier.verify(token)
        assert len(verifier) <= 4
    assert verifier.verify(issued[-1]).user == user.id  # still verifies, from the cache or anew


def test_a_flush_writes_each_user_once_whatever_the_number_of_tokens(
    admin: Services, make_user
) -> None:
    alice, bob = make_user(), make_user()
    tokens = admin.tokens
    used = []
    for account, count in ((alice, 25), (bob, 3)):
        for i in range(count):
            _, token = tokens.issue(account.id, f"u{i}", ["api"])
            used.append((account.id, tokens.verify(token)))
    tracker = UsageTracker(tokens.index)
    for _, verified in used:
        tracker.touch(verified, "203.0.113.7")
        tracker.touch(verified, "2001:db8::1")
    before = admin.client.calls
    assert tracker.flush() == 2
    assert admin.client.calls - before == 4  # one read and one write of each user's index
    listed = tokens.list(alice.id)
    assert all(r["last_used_at"] for r in listed) and len(listed) == 25
    assert {tuple(r["last_used_addresses"]) for r in listed} == {("2001:db8::1", "203.0.113.7")}


def test_uses_are_written_in_the_background_by_their_own_thread(
    make_app, user: Account, admin: Services
) -> None:
    app = make_app(last_used_interval=0.5)
    api = Api(app.test_client())
    api.login(user)
    created = api.new_pat()
    anon = app.test_client()
    assert anon.get("/api/v1/user", headers=pat_headers(created["token"])).status_code == 200
    # written by the replica's own thread (every 0.5 s here); read by another service
    eventually(lambda: admin.tokens.list(user.id)[0]["last_used_at"] is not None, timeout=3.0)
    assert any(t.name == "vault-bridge-last-used" for t in __import__("threading").enumerate())


def test_uses_that_could_not_be_written_wait_for_the_next_round(admin: Services) -> None:
    tracker = UsageTracker(admin.tokens.index, max_pending=5, users_per_flush=2)
    for _ in range(5):
        tracker.touch(_ghost(f"g-{secrets.token_hex(4)}"))
    assert tracker.flush() == 2  # two users a round (these have no index: nothing to write)
    assert len(tracker) == 3
    time.sleep(0.01)
    assert tracker.flush(force=True) == 3 and len(tracker) == 0


def test_the_account_cache_is_bounded(admin: Services, make_user, monkeypatch) -> None:
    directory = admin.directory
    monkeypatch.setattr(directory, "cache_limit", 3)  # the session's services: put back after
    accounts = [make_user() for _ in range(5)]
    for account in accounts:
        assert directory.active_user(account.id) is not None
        assert len(directory._cache) <= 3
    assert list(directory._cache) == [a.id for a in accounts[-3:]]  # the least recently asked go
    assert len(directory._names) <= 3  # entity ids seen on the way


def test_the_provider_lookup_cache_is_bounded(admin: Services, monkeypatch) -> None:
    from vault_bridge.runtime import grants

    monkeypatch.setattr(grants, "CACHE_LIMIT", 2)
    monkeypatch.setattr(admin.grants, "_configured", {})
    for provider in list(admin.catalog.providers)[:4]:
        admin.grants._is_configured("users", "nobody-here", provider)
        assert len(admin.grants._configured) <= 2


class PausedIndex:
    """The token index, with its writes held until the test lets them go."""

    def __init__(self, index) -> None:
        self.index = index
        self.entered, self.go = threading.Event(), threading.Event()

    def update(self, *args, **kwargs):
        self.entered.set()
        assert self.go.wait(10)
        return self.index.update(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.index, name)


def test_a_use_being_written_is_still_shown(admin: Services, user: Account) -> None:
    tokens = admin.tokens
    record, token = tokens.issue(user.id, "cli", ["api"])
    paused = PausedIndex(tokens.index)
    tracker = UsageTracker(paused)
    tracker.touch(tokens.verify(token), "203.0.113.9")
    flush = threading.Thread(target=tracker.flush)
    flush.start()
    try:
        assert paused.entered.wait(5)  # the flush took the use and is writing it
        stored = next(r for r in tokens.list(user.id) if r["id"] == record["id"])
        assert stored["last_used_at"] is None  # not written yet
        shown = tracker.overlay(stored)
        assert shown["last_used_at"] is not None
        assert shown["last_used_addresses"] == ["203.0.113.9"]
    finally:
        paused.go.set()
        flush.join(10)
    stored = next(r for r in tokens.list(user.id) if r["id"] == record["id"])
    assert tracker.overlay(stored) == stored and stored["last_used_addresses"] == ["203.0.113.9"]
