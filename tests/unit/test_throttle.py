"""The sign-in throttle's rules, per replica: pairs, addresses, accounts, Retry-After."""

from __future__ import annotations

import pytest

from vault_bridge.directory.throttle import Limits, LoginThrottle
from vault_bridge.errors import TooManyRequests

LIMITS = Limits(pair=3, address=6, account=6, window=60)


def fail(throttle: LoginThrottle, account: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        throttle.check(account, address)
        throttle.failed(account, address)


def refused(throttle: LoginThrottle, account: str, address: str) -> int:
    with pytest.raises(TooManyRequests) as caught:
        throttle.check(account, address)
    assert caught.value.status == 429 and "try again in" in caught.value.message
    assert 0 < caught.value.retry_after <= 61
    return caught.value.retry_after


def test_a_few_guesses_refuse_the_pair_only() -> None:
    throttle = LoginThrottle(LIMITS)
    fail(throttle, "ada", "1.1.1.1", 3)
    refused(throttle, "ada", "1.1.1.1")
    throttle.check("ada", "2.2.2.2")  # the owner, elsewhere, is not locked out
    throttle.check("bob", "1.1.1.1")  # nor is another account from that address


def test_spraying_from_one_address_stops_despite_own_successes() -> None:
    throttle = LoginThrottle(LIMITS)
    for victim in ("v1", "v2", "v3", "v4", "v5", "v6"):
        fail(throttle, victim, "6.6.6.6")
        throttle.succeeded("mallory", "6.6.6.6")  # the attacker's own account
    refused(throttle, "v7", "6.6.6.6")
    refused(throttle, "mallory", "6.6.6.6")
    throttle.check("v7", "7.7.7.7")


def test_distributed_guessing_of_one_account_spares_its_known_address() -> None:
    throttle = LoginThrottle(LIMITS)
    throttle.succeeded("ada", "10.0.0.1")  # where ada signed in before
    for n in range(6):
        fail(throttle, "ada", f"203.0.113.{n}")
    refused(throttle, "ada", "203.0.113.200")
    throttle.check("ada", "10.0.0.1")


def test_success_clears_the_pair_but_not_the_address() -> None:
    throttle = LoginThrottle(LIMITS)
    fail(throttle, "ada", "1.1.1.1", 2)
    throttle.succeeded("ada", "1.1.1.1")
    fail(throttle, "ada", "1.1.1.1", 2)  # the pair starts again from zero
    fail(throttle, "bob", "1.1.1.1", 2)
    refused(throttle, "carol", "1.1.1.1")  # 6 failures from the address, in all


def test_retry_after_is_when_the_oldest_counted_failure_leaves_the_window() -> None:
    throttle = LoginThrottle(Limits(pair=2, address=100, account=100, window=30))
    fail(throttle, "ada", "1.1.1.1", 2)
    assert 29 <= refused(throttle, "ada", "1.1.1.1") <= 31
