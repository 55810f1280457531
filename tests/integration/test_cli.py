"""The vault-bridge CLI as operators run it: exit codes, one-line errors, tokens on stdout.

The commands run in this process through the real command group (``run_cli``); a few run as
processes of the installed console script (``run_process``), so that the entry point pip
installs is tested as operators start it.
"""

from __future__ import annotations

import json
import logging
import os
import threading

import jwt
import pytest

from tests.conftest import ISSUER
from tests.helpers import free_port, free_port_pair, jws, run_cli, run_process, unique_id
from vault_bridge.embedded import EmbeddedOpenBao


@pytest.fixture
def cli_env(bao, admin_client) -> dict[str, str]:
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "VAULT_ADDR": bao.addr,
        "VAULT_TOKEN": admin_client.token,
        "VAULT_BRIDGE_ISSUER": ISSUER,
    }


def test_users_and_pats_commands(cli_env, admin) -> None:
    name = unique_id("cli")
    out = run_cli(
        "users",
        "create",
        name,
        "--display-name",
        "Ada L",
        "--email",
        "ada@example.org",
        "--password-stdin",
        env=cli_env,
        stdin="a-long-password\n",
    )
    assert f"created user {name}" in out.stdout
    assert name in run_cli("users", "list", env=cli_env).stdout
    again = run_cli(
        "users",
        "create",
        name,
        "--password-stdin",
        env=cli_env,
        stdin="a-long-password\n",
        check=False,
    )
    assert (
        again.returncode == 1
        and again.stderr.startswith("error:")
        and len(again.stderr.splitlines()) == 1
    )

    created = run_cli(
        "pats",
        "create",
        name,
        "--name",
        "laptop",
        "--scopes",
        "api,quantum_tokens",
        "--expires-in-days",
        "7",
        "--description",
        "the laptop's CLI",
        env=cli_env,
    )
    token = created.stdout.strip()
    assert len(created.stdout.splitlines()) == 1  # only the token on stdout
    assert token.startswith("vbpat_eyJ")
    claims = jwt.decode(jws(token), options={"verify_signature": False})
    assert claims["sub"] == name and claims["scope"] == "api quantum_tokens"
    assert admin.tokens.verify(token).user == name

    listing = run_cli("pats", "list", name, env=cli_env).stdout
    assert claims["jti"] in listing and "laptop" in listing and token not in listing

    run_cli("pats", "revoke", claims["jti"], env=cli_env)
    admin.tokens.denylist.sync()
    assert admin.tokens.denylist.is_revoked(claims["jti"])
    again = run_cli("pats", "revoke", claims["jti"], env=cli_env)
    assert "was already revoked" in again.stdout
    assert claims["jti"] not in run_cli("pats", "list", name, env=cli_env).stdout
    inactive = run_cli("pats", "list", name, "--state", "inactive", env=cli_env).stdout
    assert claims["jti"] in inactive and "revoked" in inactive and "by operator" in inactive
    listed = json.loads(
        run_cli("pats", "list", name, "--state", "all", "--json", env=cli_env).stdout
    )
    assert listed[0]["description"] == "the laptop's CLI" and listed[0]["state"] == "revoked"

    leaked = run_cli("pats", "create", name, "--name", "leaked", env=cli_env).stdout.strip()
    out = run_cli("pats", "revoke", "--token-stdin", env=cli_env, stdin=leaked + "\n")
    assert "revoked token" in out.stdout and leaked not in out.stdout + out.stderr

    before = run_cli("pats", "create", name, "--name", "rotating", env=cli_env).stdout.strip()
    old_id = admin.tokens.verify(before).token_id
    rotated = run_cli("pats", "rotate", old_id, env=cli_env)
    after = rotated.stdout.strip()
    assert len(rotated.stdout.splitlines()) == 1 and after.startswith("vbpat_") and after != before
    assert "stops now" in rotated.stderr
    assert admin.tokens.verify(after).user == name
    admin.tokens.denylist.sync()
    assert admin.tokens.denylist.is_revoked(old_id)
    bad = run_cli("pats", "rotate", old_id, "--grace-seconds", "604801", env=cli_env, check=False)
    assert bad.returncode != 0

    for i in range(3):
        run_cli("pats", "create", name, "--name", f"bulk-{i}", env=cli_env)
    assert "revoked 4 token(s)" in run_cli("pats", "revoke-all", name, env=cli_env).stdout

    run_cli("users", "delete", name, env=cli_env)
    assert name not in run_cli("users", "list", env=cli_env).stdout


@pytest.mark.parametrize(
    "args",
    [
        ("users", "create", "Bad/Name", "--password-stdin"),
        ("users", "create", "short-pw", "--password-stdin"),
        ("pats", "create", "no-such-user-q", "--name", "x"),
        ("pats", "create", "admin", "--name", "x", "--scopes", "root"),
        ("pats", "revoke", "not-an-id"),
        ("pats", "revoke"),
        ("users", "delete", "no-such-user-q"),
    ],
)
def test_refusals_are_one_line_and_non_zero(cli_env, args) -> None:
    result = run_cli(*args, env=cli_env, stdin="short\n", check=False)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_keys_list_and_rotate(cli_env) -> None:
    before = run_cli("keys", "list", env=cli_env).stdout
    rotated = run_cli("keys", "rotate", env=cli_env).stdout
    new_kid = rotated.strip().rsplit(" ", 1)[1]
    after = run_cli("keys", "list", env=cli_env).stdout
    assert new_kid not in before and new_kid in after
    assert f"{new_kid}\tEdDSA" in after and "(signing)" in after.splitlines()[-1]


def test_bootstrap_is_idempotent_and_doctor_is_happy(cli_env) -> None:
    assert "nothing to do" in run_cli("bootstrap", env=cli_env).stdout
    doctor = run_cli("doctor", env=cli_env).stdout
    assert "FAIL" not in doctor and "policy vault-bridge-service" in doctor


def test_doctor_names_a_missing_policy(cli_env, admin_client) -> None:
    admin_client.delete("sys/policies/acl/vault-bridge-runner")
    try:
        result = run_cli("doctor", env=cli_env, check=False)
        assert result.returncode == 1
        assert "FAIL policy vault-bridge-runner: missing" in result.stdout
        assert "vault-bridge-runner" in result.stderr
    finally:
        assert "wrote policy vault-bridge-runner" in run_cli("bootstrap", env=cli_env).stdout


def test_doctor_says_unreachable(cli_env) -> None:
    env = {**cli_env, "VAULT_ADDR": f"http://127.0.0.1:{free_port()}"}
    result = run_cli("doctor", env=env, check=False)
    assert result.returncode == 1
    assert "unreachable" in result.stderr


@pytest.mark.slow
def test_doctor_on_a_fresh_then_sealed_server(tmp_path, cli_env) -> None:
    import time

    server = EmbeddedOpenBao(tmp_path, free_port_pair())
    server.start()
    try:
        client = server.admin_client()
        env = {**cli_env, "VAULT_ADDR": server.addr, "VAULT_TOKEN": client.token}
        result = run_cli("doctor", env=env, check=False)
        assert result.returncode == 1
        assert (
            "FAIL mount vault-bridge/: missing (kv): run `vault-bridge bootstrap`" in result.stdout
        )
        # an auto-unsealed OpenBao (static seal) may unseal itself again about a second after
        # `sys/seal`: seal right before each look, until doctor says it (a slow start of the CLI
        # on a loaded machine can miss the sealed moment)
        said = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            client.write("sys/seal")
            result = run_cli("doctor", env=env, check=False)
            said.append((result.returncode, result.stderr))
            if "sealed" in result.stderr:
                break
        assert said[-1][0] == 1 and "Vault is sealed" in said[-1][1], said
    finally:
        server.stop()


def test_bad_configuration_is_one_line(cli_env) -> None:
    result = run_cli("doctor", env={**cli_env, "VAULT_BRIDGE_KEY_TYPE": "rsa"}, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: VAULT_BRIDGE_KEY_TYPE")


def test_pats_create_restricted_to_organizations(cli_env, admin, make_user) -> None:
    account = make_user()
    org = unique_id("cliorg")
    run_cli("orgs", "create", org, "--owner", account.id, env=cli_env)
    token = run_cli(
        "pats",
        "create",
        account.id,
        "--name",
        "org-only",
        "--org",
        org,
        "--no-personal",
        env=cli_env,
    ).stdout.strip()
    claims = jwt.decode(jws(token), options={"verify_signature": False})
    assert claims["orgs"] == [org] and claims["personal"] is False
    refused = run_cli(
        "pats",
        "create",
        account.id,
        "--name",
        "x",
        "--org",
        "not-a-member-org",
        env=cli_env,
        check=False,
    )
    assert refused.returncode == 1 and "not a member" in refused.stderr


def test_the_installed_command_runs_as_a_process(cli_env, admin, make_user) -> None:
    """The console script pip installed: a list, a token alone on stdout, a refusal's one line."""
    account = make_user()
    listed = run_process("users", "list", "--json", env=cli_env)
    assert account.id in [u["id"] for u in json.loads(listed.stdout)]
    created = run_process("pats", "create", account.id, "--name", "process", env=cli_env)
    token = created.stdout.strip()
    assert created.stdout == token + "\n" and token.startswith("vbpat_eyJ")
    # stderr: the audit event (no VAULT_BRIDGE_AUDIT_LOG with VAULT_ADDR set), then the summary
    assert created.stderr.splitlines()[-1].startswith("created token ")
    assert token not in created.stderr
    assert admin.tokens.verify(token).user == account.id
    refused = run_process(
        "pats", "create", "no-such-user-q", "--name", "x", env=cli_env, check=False
    )
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == "error: no such user: no-such-user-q\n"


def _state_of_the_process() -> dict[str, object]:
    """What a command could leave behind in this process: logging handlers, threads, environment."""
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    return {
        "handlers": {
            logger.name: list(logger.handlers)
            for logger in loggers
            if isinstance(logger, logging.Logger)
        },
        "threads": set(threading.enumerate()),
        "environ": dict(os.environ),
    }


def _tokens_of(admin_client, marker: str, known: set[str]) -> list[str]:
    """The accessors, not in ``known``, of live tokens that logged in with a secret-id tagged
    with ``marker`` (a token that ends between the listing and its lookup is not live)."""
    from vault_bridge.vault.client import VaultForbidden, VaultInvalidRequest

    found = []
    for accessor in set(admin_client.list("auth/token/accessors")) - known:
        try:
            looked = admin_client.write("auth/token/lookup-accessor", {"accessor": accessor})
        except (VaultForbidden, VaultInvalidRequest):
            continue
        if (((looked or {}).get("data") or {}).get("meta") or {}).get("marker") == marker:
            found.append(accessor)
    return found


@pytest.mark.parametrize(
    "args",
    [("users", "list"), ("pats", "list", "no-such-user-q"), ("keys", "list"), ("doctor",)],
)
def test_a_command_leaves_the_process_as_it_found_it(
    bao, admin_client, service_settings, args
) -> None:
    """Run in-process, a command (successful or refused) leaves no logging handler, thread or
    environment variable behind, and revokes the Vault token it logged in for at exit."""
    from vault_bridge.bootstrap import SERVICE_ROLE

    marker = unique_id("leak")
    secret = admin_client.write(
        f"auth/approle/role/{SERVICE_ROLE}/secret-id",
        {"metadata": json.dumps({"marker": marker}), "num_uses": 10},
    )["data"]["secret_id"]
    env = {
        "VAULT_ADDR": bao.addr,
        "VAULT_BRIDGE_ROLE_ID": service_settings.role_id,
        "VAULT_BRIDGE_SECRET_ID": secret,
        "VAULT_BRIDGE_ISSUER": ISSUER,
    }
    known = set(admin_client.list("auth/token/accessors"))
    before = _state_of_the_process()
    result = run_cli(*args, env=env, check=False)
    assert result.returncode in (0, 1), result
    assert _state_of_the_process() == before
    used = admin_client.write(
        f"auth/approle/role/{SERVICE_ROLE}/secret-id/lookup", {"secret_id": secret}
    )["data"]
    assert used["secret_id_num_uses"] < 10  # the command did log in with it
    assert _tokens_of(admin_client, marker, known) == []
