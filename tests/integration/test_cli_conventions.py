"""The CLI's conventions against the real OpenBao: unknown accounts are errors, empty lists say
so, repeated revocations say so, options are named in their errors, and passwords are asked for
(hidden, twice) at a terminal, where the command runs as a real process."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import subprocess
import termios
import time

import pytest

from tests.helpers import CLI, run_cli, unique_id
from tests.integration.test_cli import cli_env  # noqa: F401 (a fixture)

PASSWORD = "a-long-password"


@pytest.fixture
def account(cli_env) -> str:  # noqa: F811
    name = unique_id("conv")
    run_cli("users", "create", name, "--password-stdin", env=cli_env, stdin=PASSWORD + "\n")
    return name


@pytest.mark.parametrize(
    "command",
    [
        ("pats", "list"),
        ("pats", "revoke-all"),
        ("pats", "create", "{}", "--name", "ci"),
        ("users", "delete"),
        ("users", "set-password", "{}", "--password-stdin"),
    ],
)
def test_an_unknown_account_is_an_error(cli_env, command) -> None:  # noqa: F811
    name = unique_id("nosuch")
    args = [a.format(name) for a in command]
    if "{}" not in command:
        args.append(name)
    result = run_cli(*args, env=cli_env, stdin=PASSWORD + "\n", check=False)
    assert (result.returncode, result.stderr, result.stdout) == (
        1,
        f"error: no such user: {name}\n",
        "",
    )


def test_empty_lists_say_so_or_print_an_empty_array(cli_env, account) -> None:  # noqa: F811
    assert run_cli("pats", "list", account, env=cli_env).stdout == "no active tokens\n"
    assert run_cli("pats", "list", account, "--state", "all", env=cli_env).stdout == "no tokens\n"
    for flags in (["--format", "json"], ["--json"]):
        assert json.loads(run_cli("pats", "list", account, *flags, env=cli_env).stdout) == []
    out = run_cli("pats", "revoke-all", account, env=cli_env).stdout
    assert out == f"user {account} has no active tokens; nothing to do\n"
    users = json.loads(run_cli("users", "list", "--format", "json", env=cli_env).stdout)
    assert account in [u["id"] for u in users]


def test_revoking_twice_says_it_was_already_revoked(cli_env, account) -> None:  # noqa: F811
    created = run_cli("pats", "create", account, "--name", "ci", env=cli_env)
    token_id = re.search(r"created token ([0-9a-f]{32})", created.stderr).group(1)
    first = run_cli("pats", "revoke", token_id, env=cli_env)
    assert first.stdout == f"revoked token {token_id} of user {account}\n"
    again = run_cli("pats", "revoke", token_id, env=cli_env)
    assert again.stdout.startswith(f"token {token_id} of user {account} was already revoked at ")
    assert again.stdout.endswith("; nothing to do\n")
    by_value = run_cli("pats", "revoke", "--token-stdin", env=cli_env, stdin=created.stdout)
    assert "was already revoked" in by_value.stdout
    unknown = run_cli("pats", "revoke", "0" * 32, env=cli_env, check=False)
    assert (unknown.returncode, unknown.stderr) == (1, f"error: no such token: {'0' * 32}\n")


@pytest.mark.parametrize("days", ["0", "-3", "100000"])
def test_a_bad_lifetime_names_the_option(cli_env, account, days) -> None:  # noqa: F811
    result = run_cli(
        "pats",
        "create",
        account,
        "--name",
        "ci",
        "--expires-in-days",
        days,
        env=cli_env,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: --expires-in-days must be 1 to 366")
    assert "expires_at" not in result.stderr
    assert json.loads(run_cli("pats", "list", account, "--json", env=cli_env).stdout) == []


def test_creating_an_existing_user_says_so_before_the_password(cli_env, account) -> None:  # noqa: F811
    result = run_cli("users", "create", account, "--password-stdin", env=cli_env, check=False)
    assert (result.returncode, result.stderr) == (1, f"error: user {account} already exists\n")


def test_a_piped_password_is_read_without_a_prompt(cli_env) -> None:  # noqa: F811
    name = unique_id("pipe")
    result = run_cli("users", "create", name, "--password-stdin", env=cli_env, stdin=PASSWORD)
    assert (result.stdout, result.stderr) == (f"created user {name}\n", "")


def take_terminal() -> None:
    """In the child: a session of its own with the pseudo-terminal (its stdin) as its terminal."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def run_at_terminal(args: list[str], env: dict[str, str], answers: list[str]) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its terminal; answer each prompt; all it showed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [CLI, *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        start_new_session=True,
        preexec_fn=None,
    )
    os.close(follower)
    shown = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.endswith(b": "):  # a prompt waits for its answer
                os.write(leader, pending.pop(0).encode() + b"\n")
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=30), shown.decode(errors="replace")


def test_a_password_at_a_terminal_is_asked_twice_and_hidden(cli_env) -> None:  # noqa: F811
    name = unique_id("tty")
    code, shown = run_at_terminal(
        ["users", "create", name, "--password-stdin"], cli_env, [PASSWORD, PASSWORD]
    )
    assert code == 0, shown
    assert "Password:" in shown and "Password (again):" in shown
    assert PASSWORD not in shown
    assert f"created user {name}" in shown


def test_two_different_passwords_at_a_terminal_change_nothing(cli_env) -> None:  # noqa: F811
    name = unique_id("tty")
    code, shown = run_at_terminal(
        ["users", "create", name, "--password-stdin"], cli_env, [PASSWORD, PASSWORD + "x"]
    )
    assert code == 1
    assert "error: the two passwords differ; nothing was changed" in shown
    listed = json.loads(run_cli("users", "list", "--json", env=cli_env).stdout)
    assert name not in [u["id"] for u in listed]


def test_a_capitalised_name_is_refused_with_the_rule_and_a_suggestion(cli_env) -> None:  # noqa: F811
    result = run_cli("users", "create", "Grace", "--password-stdin", env=cli_env, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("error: invalid user id: use 1-40 lower case letters")
    assert result.stderr.endswith("; did you mean grace?\n")


def test_a_role_is_said_with_its_article(cli_env, account) -> None:  # noqa: F811
    org = unique_id("art")
    member = unique_id("mem")
    run_cli("users", "create", member, "--password-stdin", env=cli_env, stdin=PASSWORD)
    run_cli("orgs", "create", org, "--owner", account, env=cli_env)
    try:
        for role, said in (
            ("viewer", "a viewer"),
            ("owner", "an owner"),
            ("maintainer", "a maintainer"),
        ):
            out = run_cli("orgs", "add-member", org, member, "--role", role, env=cli_env).stdout
            assert out == f"{member} is now {said} of {org}.\n"
    finally:
        run_cli("orgs", "delete", org, env=cli_env)
