"""Sign-in throttling against the real OpenBao: spraying with interleaved own sign-ins, the
owner never locked out by a few guesses (neither by the service nor by Vault's lockout),
distributed guessing, Retry-After on every 429, forwarded addresses only through trusted
proxies, and the userpass lockout bootstrap sets."""

from __future__ import annotations

import re

import pytest

from tests.helpers import Api, unique_id
from vault_bridge.bootstrap import doctor, lockout_applied, userpass_lockout
from vault_bridge.config import Settings
from vault_bridge.vault.client import VaultClient, VaultError
from vault_bridge.vault.sys import Sys

HTML = {"Accept": "text/html"}


def sign_in(client, account: str, password: str, address: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post(
        "/api/v1/session",
        json={"username": account, "password": password},
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )


def assert_throttled(response) -> int:
    assert response.status_code == 429, response.get_json()
    assert response.get_json()["error"]["code"] == "too_many_attempts"
    retry = response.headers["Retry-After"]
    assert retry.isdigit() and 0 < int(retry) <= 901
    return int(retry)


def test_spraying_with_interleaved_own_sign_ins_is_throttled(app, make_user) -> None:
    """One address guessing one password over many accounts, signing in to its own account
    between guesses: 429 after the address's limit, whatever the successes."""
    client = app.test_client()
    mallory = make_user("mal")
    victims = [make_user("vic").id for _ in range(3)] + [unique_id("nobody") for _ in range(40)]
    attacker = "198.51.100.7"
    outcomes = []
    for n, victim in enumerate(victims):
        if n % 3 == 0:
            own = sign_in(client, mallory.id, mallory.password, attacker)
            outcomes.append(own.status_code)
            if own.status_code == 429:
                break
        response = sign_in(client, victim, "Winter2026!", attacker)
        outcomes.append(response.status_code)
        if response.status_code == 429:
            assert_throttled(response)
            break
    assert outcomes[-1] == 429, outcomes
    assert outcomes.count(401) == app.extensions["vault_bridge"].settings.login_address_limit
    assert_throttled(sign_in(client, victims[0], "Winter2026!", attacker))
    # another address is not affected
    assert sign_in(client, mallory.id, mallory.password, "198.51.100.8").status_code == 200


def test_five_wrong_guesses_do_not_lock_the_owner_out(app, make_user, bao) -> None:
    client = app.test_client()
    owner = make_user("own")
    for _ in range(5):
        assert sign_in(client, owner.id, "wrong-password", "203.0.113.9").status_code == 401
    assert_throttled(sign_in(client, owner.id, owner.password, "203.0.113.9"))
    # the owner, from their own address: the service lets them in, and so does Vault (whose
    # default lockout would have locked the account after those five failures)
    assert sign_in(client, owner.id, owner.password, "192.0.2.1").status_code == 200
    body = VaultClient(bao.addr).request(
        "POST",
        f"auth/userpass/login/{owner.id}",
        json={"password": owner.password},
        authenticated=False,
    )
    assert body["auth"]["client_token"]


def test_distributed_guessing_spares_the_owners_known_address(app, make_user) -> None:
    client = app.test_client()
    owner = make_user("dist")
    assert sign_in(client, owner.id, owner.password, "192.0.2.50").status_code == 200
    limit = app.extensions["vault_bridge"].settings.login_account_limit
    for n in range(limit):
        assert sign_in(client, owner.id, f"guess-{n}", f"203.0.113.{n + 1}").status_code == 401
    assert_throttled(sign_in(client, owner.id, owner.password, "203.0.113.250"))
    assert sign_in(client, owner.id, owner.password, "192.0.2.50").status_code == 200


def test_every_429_says_when_to_try_again(app, make_user) -> None:
    client = app.test_client()
    account = make_user("ra")
    page = client.get("/login", headers=HTML).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": csrf, "username": account.id, "password": "nope-nope"}
    for _ in range(5):
        assert client.post("/login", data=form).status_code == 401
    throttled = client.post("/login", data=form)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"].isdigit()
    assert "try again in" in throttled.get_data(as_text=True)

    api = Api(app.test_client())
    api.login(make_user("rb"))
    for _ in range(5):
        wrong = api.client.put(
            "/api/v1/user/password",
            json={"current_password": "not-it-at-all", "new_password": "x" * 12},
            headers={"X-CSRF-Token": api.csrf},
        )
        assert wrong.status_code == 403
    assert_throttled(
        api.client.put(
            "/api/v1/user/password",
            json={"current_password": "not-it-at-all", "new_password": "x" * 12},
            headers={"X-CSRF-Token": api.csrf},
        )
    )


@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_addresses_count_only_through_trusted_proxies(
    make_app, make_user, proxies: int
) -> None:
    app = make_app(trusted_proxies=proxies)
    client = app.test_client()
    victim = make_user("fwd")
    proxy = "10.0.0.1"
    for n in range(5):  # the client writes a new X-Forwarded-For each time; the proxy appends
        forwarded = f"198.51.100.{n}, 203.0.113.5"
        assert sign_in(client, victim.id, "wrong!", proxy, forwarded).status_code == 401
    again = sign_in(client, victim.id, victim.password, proxy, "198.51.100.99, 203.0.113.5")
    assert_throttled(again)  # one proxy: 203.0.113.5 counted; none: the proxy's own address
    other = sign_in(client, victim.id, victim.password, proxy, "203.0.113.6")
    if proxies:
        assert other.status_code == 200  # another client behind the proxy has its own bucket
    else:
        assert_throttled(other)  # without trusted proxies the header changes nothing


def test_bootstrap_configures_the_userpass_lockout(admin_client, base_settings, bao) -> None:
    mount = Sys(admin_client).auth_methods()[f"{base_settings.userpass_mount}/"]
    config = mount["config"]["user_lockout_config"]
    assert config["user_lockout_threshold"] == base_settings.lockout_threshold == 100
    assert config["user_lockout_duration"] == base_settings.lockout_duration == 300
    assert config["user_lockout_counter_reset_duration"] == 600
    assert config["user_lockout_disable"] is False
    found = {check.name: check for check in doctor(admin_client, base_settings)}
    assert found["userpass lockout"].ok


def test_vault_lockout_holds_at_the_configured_threshold(admin, bao, make_user) -> None:
    """Straight at Vault, past the service: the lockout holds at the configured threshold."""
    account = make_user("lock")
    low = Settings.from_env(
        env={},
        vault_addr=bao.addr,
        userpass_mount=unique_id("up"),
        login_pair_limit=1,
        login_address_limit=1,
        login_account_limit=1,
        lockout_threshold=3,
    )
    sys_ = Sys(admin.client)
    sys_.enable_auth(low.userpass_mount, "userpass")
    try:
        sys_.tune_auth(low.userpass_mount, user_lockout_config=userpass_lockout(low))
        assert lockout_applied(sys_.auth_methods(), low)
        admin.client.write(
            f"auth/{low.userpass_mount}/users/{account.id}", {"password": account.password}
        )
        vault = VaultClient(bao.addr)

        def login(password: str) -> bool:
            try:
                vault.request(
                    "POST",
                    f"auth/{low.userpass_mount}/login/{account.id}",
                    json={"password": password},
                    authenticated=False,
                )
            except VaultError:
                return False
            return True

        assert login(account.password)
        for _ in range(3):
            assert not login("wrong")
        assert not login(account.password)  # locked: even the right password is refused
    finally:
        admin.client.delete(f"sys/auth/{low.userpass_mount}")
