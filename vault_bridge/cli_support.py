"""Conventions shared by the ``vault-bridge`` commands: accounts that must exist, secrets read
from stdin or a hidden prompt, lists that say when they are empty."""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from vault_bridge.errors import ConfigError

if TYPE_CHECKING:
    from vault_bridge.config import Settings
    from vault_bridge.directory.users import User
    from vault_bridge.services import Services


class Fail(click.ClickException):
    """A one-line error on stderr and exit code 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


def pass_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``command`` with the settings as its first argument, read when a command runs (never
    for ``--help``) and once per invocation.

    They come from the process's environment, or from the mapping given as the group's ``obj``
    (``cli.main(obj={...})``), in which case nothing of the process's environment is read.
    """

    @functools.wraps(command)
    def with_settings(*args: Any, **kwargs: Any) -> Any:
        from vault_bridge.config import Settings

        root = click.get_current_context().find_root()
        if not isinstance(root.obj, Settings):
            root.obj = read_settings(root.obj)
        return command(root.obj, *args, **kwargs)

    return with_settings


def read_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``env`` (default: the environment); a one-line error when one is
    malformed."""
    from vault_bridge.config import Settings

    try:
        return Settings.from_env(env)
    except ConfigError as exc:
        raise Fail(str(exc)) from None


def existing_user(services: Services, name: str) -> User:
    """The account called ``name``; a one-line error when there is none."""
    user = services.directory.get_user(name)
    if user is None:
        raise Fail(f"no such user: {name}")
    return user


def read_password() -> str:
    """The new password: a hidden prompt asked twice at a terminal, else one line of stdin."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password (again): ") != password:
        raise Fail("the two passwords differ; nothing was changed")
    return password


def format_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format text|json`` with ``--json`` kept as its short form."""
    command = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(
        command
    )
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json prints a JSON array ([] when empty).",
    )(command)


def print_list(
    items: Sequence[Any], as_json: bool, line: Callable[[Any], str], empty: str
) -> None:
    """Print ``items`` as JSON, or one line each (``empty`` when there are none)."""
    if as_json:
        click.echo(json.dumps(list(items), indent=2))
        return
    if not items:
        click.echo(empty)
    for item in items:
        click.echo(line(item))
