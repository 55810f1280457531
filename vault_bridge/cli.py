"""The ``vault-bridge`` command: serve, bootstrap, doctor, and operator commands."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shlex
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vault_bridge import scopes
from vault_bridge.cli_support import (
    Fail,
    existing_user,
    format_option,
    pass_settings,
    print_list,
    read_password,
)
from vault_bridge.errors import ConfigError, VaultBridgeError
from vault_bridge.vault.names import APPROLE_NAMES

if TYPE_CHECKING:
    from vault_bridge.config import Settings
    from vault_bridge.services import Services

# A command imports what it runs, inside its function: `vault-bridge --help` and each command
# start without the modules (pydantic, hvac, PyJWT, cryptography, prometheus_client) that other
# commands need. tests/unit/test_cli_imports.py holds this in place.


@contextlib.contextmanager
def operator_services(settings: Settings) -> Iterator[Services]:
    """Services with operator rights: VAULT_TOKEN/AppRole, or the embedded administrator.

    With the embedded default the server is used if it runs (``make run``), else it is started
    for the duration of the command. On leaving, the services stop, the token the command logged
    in for is revoked, and a server started here stops.
    """
    from vault_bridge.connect import vault_client
    from vault_bridge.embedded import EmbeddedOpenBao
    from vault_bridge.services import Services

    with contextlib.ExitStack() as stack:
        if settings.embedded:
            server = EmbeddedOpenBao(settings.data_dir, settings.embedded_port)
            stack.enter_context(server.running())
            client = server.admin_client(timeout=settings.vault_timeout)
        else:
            client = vault_client(settings)
        stack.callback(client.close)
        # organization changes reconcile at once when this credential may write their policies;
        # otherwise the reconciler (`vault-bridge reconcile`) picks them up
        services = Services(settings, client, reconciler_vault=client)
        stack.callback(services.close)
        yield services


class Commands(click.Group):
    """The ``vault-bridge`` group: any command's failure is one line on stderr, never a traceback.

    Run in standalone mode (the console entry point, or click's test runner), a domain error or
    a click error prints ``error: ...`` and exits 1 (click's usage errors 2), Ctrl-C exits 130.
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, with domain errors turned into one-line click errors."""
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:  # a RuntimeError, but how --help and ctx.exit end
            raise
        except VaultBridgeError as exc:
            raise Fail(exc.message) from None
        except (FileNotFoundError, RuntimeError, ConfigError) as exc:
            raise Fail(str(exc)) from None

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the group; in standalone mode, print errors as one line and exit with a code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=Commands)
def cli() -> None:
    """vault-bridge: personal and provider access tokens kept in Vault/OpenBao."""


def main() -> None:
    """Console entry point."""
    cli.main(prog_name="vault-bridge")


# -- serve -------------------------------------------------------------------------------------


@cli.command()
@pass_settings
def serve(settings: Settings) -> None:
    """Run the service (and the embedded OpenBao when VAULT_ADDR is not set)."""
    from vault_bridge.server import ServeError, run

    try:
        run(settings)
    except ServeError as exc:
        raise Fail(str(exc)) from None


@cli.command("stop")
@pass_settings
def stop_command(settings: Settings) -> None:
    """Stop the embedded OpenBao in VAULT_BRIDGE_DATA_DIR, and the serve that runs it."""
    from vault_bridge.embedded import EmbeddedOpenBao

    if not settings.embedded:
        raise Fail("VAULT_ADDR is set: there is no embedded OpenBao to stop")
    server = EmbeddedOpenBao(settings.data_dir, settings.embedded_port)
    found = server.find()
    if found is None:
        click.echo(f"the embedded OpenBao in {server.root} is not running")
        return
    if found.orphaned:
        click.echo(f"stopping the embedded OpenBao (pid {found.pid}), left by a process now gone")
    else:
        click.echo(f"stopping the embedded OpenBao (pid {found.pid}) through pid {found.owner}")
    server.stop_found(found)
    click.echo("stopped")


# -- set-up ------------------------------------------------------------------------------------


@cli.command("bootstrap")
@pass_settings
def bootstrap_command(settings: Settings) -> None:
    """Set up mounts, auth methods, transit key, policies and AppRoles (idempotent)."""
    from vault_bridge.bootstrap import bootstrap

    with operator_services(settings) as services:
        report = bootstrap(services.client, settings)
    for line in report.changed:
        click.echo(line)
    click.echo(
        "bootstrap: nothing to do, all in place" if not report.changed else "bootstrap: done"
    )


@cli.command("doctor")
@pass_settings
def doctor_command(settings: Settings) -> None:
    """Check connection, seal state, bootstrap and policies; say what is wrong."""
    from vault_bridge.bootstrap import doctor
    from vault_bridge.connect import vault_client
    from vault_bridge.embedded import EmbeddedOpenBao

    if settings.embedded:
        server = EmbeddedOpenBao(settings.data_dir, settings.embedded_port)
        if not (server.root / "config.hcl").exists():
            raise Fail(f"no embedded OpenBao in {server.root}: run `make run` or set VAULT_ADDR")
    with (
        server.running() if settings.embedded else contextlib.nullcontext(),
        contextlib.closing(vault_client(settings)) as client,
    ):
        checks = doctor(client, settings)
    failed = [check for check in checks if not check.ok]
    for check in checks:
        click.echo(f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if failed:
        raise Fail(f"{len(failed)} check(s) failed; first: {failed[0].name}: {failed[0].detail}")


@cli.command("reconcile")
@click.option("--once", is_flag=True, help="Look at every organization once, then exit.")
@pass_settings
def reconcile_command(settings: Settings, once: bool) -> None:
    """Write the organizations' policies and put them on their groups; delete those of deleted
    organizations. Runs until stopped (or once with --once), as AppRole vault-bridge-reconciler
    (VAULT_BRIDGE_RECONCILER_ROLE_ID/SECRET_ID), else with the operator's credential."""
    from vault_bridge.connect import reconciler_client, vault_address, vault_client
    from vault_bridge.directory.reconciler import PolicyReconciler, ReconcileLoop
    from vault_bridge.embedded import EmbeddedOpenBao

    with contextlib.ExitStack() as stack:
        client = reconciler_client(settings, vault_address(settings))
        if client is None and settings.embedded:
            server = EmbeddedOpenBao(settings.data_dir, settings.embedded_port)
            stack.enter_context(server.running())
            client = server.admin_client(timeout=settings.vault_timeout)
        client = client or vault_client(settings)
        stack.callback(client.close)
        reconciler = PolicyReconciler(client, settings)
        if once:
            changed = reconciler.reconcile_all()
            for line in changed:
                click.echo(line)
            click.echo(f"reconcile: {len(changed)} change(s)")
            return
        loop = ReconcileLoop(
            reconciler,
            interval=settings.reconcile_interval,
            full_interval=settings.reconcile_full_interval,
            report=click.echo,
        )

        def stop(signum: int, frame: object) -> None:
            loop.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
        click.echo(
            f"reconciler running: markers every {settings.reconcile_interval:g} s when Vault "
            f"changed, every organization every {settings.reconcile_full_interval:g} s (one "
            "look shared by all reconcilers)"
        )
        loop.run()
        click.echo("reconciler stopped")


@cli.command("write-credentials")
@click.argument("role", type=click.Choice(sorted(APPROLE_NAMES)))
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_settings
def write_credentials_command(settings: Settings, role: str, folder: Path) -> None:
    """Write ROLE's role-id and a secret-id into FOLDER (mode 0600) for a container or runner."""
    from vault_bridge.credentials import write_approle_credentials

    if not folder.is_dir():
        raise Fail(f"{folder} is not a folder")
    with operator_services(settings) as services:
        issued = write_approle_credentials(services.client, settings.approle_mount, role, folder)
    state = "a new secret-id" if issued else "the secret-id already there, still valid"
    click.echo(f"{role}: {folder / 'role-id'} and {folder / 'secret-id'} ({state})")


# -- users -------------------------------------------------------------------------------------


@cli.group()
def users() -> None:
    """Manage user accounts."""


@users.command("create")
@click.argument("name")
@click.option("--display-name", default="", help="Shown in the UI (default: the name).")
@click.option("--email", default="", help="E-mail address.")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from stdin (asked twice, hidden, at a terminal).",
)
@pass_settings
def users_create(
    settings: Settings, name: str, display_name: str, email: str, password_stdin: bool
) -> None:
    """Create an account; the password is read from stdin, or asked for at a terminal."""
    from vault_bridge.ids import check_account_id

    with operator_services(settings) as services:
        check_account_id(name)
        if services.directory.get_user(name) is not None:
            raise Fail(f"user {name} already exists")
        password = read_password()
        user = services.directory.create_user(name, password, display_name, email)
    click.echo(f"created user {user.id}")


@users.command("set-password")
@click.argument("name")
@click.option(
    "--password-stdin",
    is_flag=True,
    required=True,
    help="Read the password from stdin (asked twice, hidden, at a terminal).",
)
@pass_settings
def users_set_password(settings: Settings, name: str, password_stdin: bool) -> None:
    """Replace an account's password (stdin or a prompt); every session of the account ends."""
    with operator_services(settings) as services:
        existing_user(services, name)
        password = read_password()
        ended = services.accounts.set_password(name, password, actor="operator")
    click.echo(f"new password for {name}; {ended} session(s) ended")


@users.command("list")
@format_option
@pass_settings
def users_list(settings: Settings, fmt: str, as_json: bool) -> None:
    """List accounts."""
    with operator_services(settings) as services:
        found = [user.as_dict() for user in services.directory.list_users()]
    print_list(
        found,
        as_json or fmt == "json",
        lambda u: f"{u['id']}\t{u['display_name']}\t{u['email']}",
        "no users",
    )


@users.command("delete")
@click.argument("name")
@pass_settings
def users_delete(settings: Settings, name: str) -> None:
    """Delete an account, revoking all its tokens and deleting its data."""
    with operator_services(settings) as services:
        existing_user(services, name)
        services.accounts.delete(name, actor="operator")
    click.echo(f"deleted user {name}")


# -- orgs --------------------------------------------------------------------------------------


@cli.group()
def orgs() -> None:
    """Manage organizations and their members."""


@orgs.command("create")
@click.argument("org")
@click.option("--owner", required=True, help="The first owner (an existing user).")
@click.option("--display-name", default="", help="Shown in the UI (default: the id).")
@pass_settings
def orgs_create(settings: Settings, org: str, owner: str, display_name: str) -> None:
    """Create an organization with its first owner."""
    with operator_services(settings) as services:
        user = existing_user(services, owner)
        services.orgs.create(org, display_name, user, actor="operator")
    click.echo(f"created organization {org} owned by {owner}")


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
def orgs_list(settings: Settings, as_json: bool) -> None:
    """List organizations with their members."""
    with operator_services(settings) as services:
        found = [{**p, "members": services.orgs.members(p["id"])} for p in services.orgs.list_all()]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for org in found:
        members = ", ".join(f"{m['user']} ({m['role']})" for m in org["members"])
        click.echo(f"{org['id']}\t{org['display_name']}\t{members}")


@orgs.command("delete")
@click.argument("org")
@pass_settings
def orgs_delete(settings: Settings, org: str) -> None:
    """Delete an organization, its provider tokens, groups and policies."""
    with operator_services(settings) as services:
        services.orgs.delete(org, actor="operator")
    click.echo(f"deleted organization {org}")


@orgs.command("add-member")
@click.argument("org")
@click.argument("user")
@click.option("--role", type=click.Choice(["owner", "maintainer", "viewer"]), required=True)
@pass_settings
def orgs_add_member(settings: Settings, org: str, user: str, role: str) -> None:
    """Add a member or change their role."""
    from vault_bridge.directory.orgs import with_article

    with operator_services(settings) as services:
        services.orgs.set_member(org, user, role, actor="operator")
    click.echo(f"{user} is now {with_article(role)} of {org}.")


@orgs.command("remove-member")
@click.argument("org")
@click.argument("user")
@pass_settings
def orgs_remove_member(settings: Settings, org: str, user: str) -> None:
    """Remove a member (not the last owner)."""
    with operator_services(settings) as services:
        services.orgs.remove_member(org, user, actor="operator")
    click.echo(f"removed {user} from {org}")


# -- pats --------------------------------------------------------------------------------------


@cli.group()
def pats() -> None:
    """Manage personal access tokens."""


@pats.command("create")
@click.argument("user")
@click.option("--name", required=True, help="1-100 characters, unique among active tokens.")
@click.option(
    "--scopes",
    default=scopes.API,
    show_default=True,
    help=f"comma-separated, of: {scopes.listing()}",
)
@click.option(
    "--expires-in-days",
    type=int,
    default=None,
    help="Days until it expires (default and maximum from the configuration).",
)
@click.option("--description", default=None, help="What the token is for (optional).")
@click.option(
    "--org",
    "orgs",
    multiple=True,
    help="Restrict it to this organization of the user (repeatable; default: every one).",
)
@click.option(
    "--no-personal", is_flag=True, help="It may act only in an organization, not personally."
)
@pass_settings
def pats_create(
    settings: Settings,
    user: str,
    name: str,
    scopes: str,
    expires_in_days: int | None,
    description: str | None,
    orgs: tuple[str, ...],
    no_personal: bool,
) -> None:
    """Create a PAT; prints only the token on stdout."""
    from vault_bridge.timeutil import now_utc
    from vault_bridge.tokens.rules import normalize_scopes

    expires_at = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= settings.pat_max_days:
            raise Fail(
                f"--expires-in-days must be 1 to {settings.pat_max_days} "
                "(the maximum is VAULT_BRIDGE_PAT_MAX_DAYS)"
            )
        expires_at = (now_utc() + dt.timedelta(days=expires_in_days)).isoformat()
    with operator_services(settings) as services:
        account = existing_user(services, user)
        record, token = services.tokens.issue(
            user,
            name,
            normalize_scopes(scopes),
            expires_at,
            description=description,
            organizations=list(orgs) if orgs else None,
            personal=not no_personal,
            memberships=account.memberships,
            actor="operator",
        )
    click.echo(f"created token {record['id']} expiring {record['expires_at']}", err=True)
    click.echo(token)


@pats.command("list")
@click.argument("user")
@click.option(
    "--state",
    type=click.Choice(["active", "inactive", "all"]),
    default="active",
    show_default=True,
    help="inactive: expired or revoked in the last 30 days.",
)
@format_option
@pass_settings
def pats_list(settings: Settings, user: str, state: str, fmt: str, as_json: bool) -> None:
    """List a user's tokens (never their values), with their last use."""
    with operator_services(settings) as services:
        existing_user(services, user)
        records = services.tokens.list(user, state)  # type: ignore[arg-type]
    empty = "no tokens" if state == "all" else f"no {state} tokens"
    print_list(records, as_json or fmt == "json", _pat_line, empty)


def _pat_line(record: dict[str, Any]) -> str:
    """One token as a line of ``pats list``."""
    used = record["last_used_at"] or "never"
    if record["last_used_addresses"]:
        used += f" from {', '.join(record['last_used_addresses'])}"
    line = (
        f"{record['id']}\t{record['name']}\t{','.join(record['scopes'])}\t"
        f"{record['state']}\texpires {record['expires_at']}\tlast used {used}"
    )
    if record["state"] == "revoked":
        line += f"\trevoked {record['revoked_at'] or ''} by {record['revoked_by'] or '?'}"
    return line


@pats.command("revoke")
@click.argument("token_id", required=False)
@click.option("--token-stdin", is_flag=True, help="Read a (leaked) token value from stdin.")
@pass_settings
def pats_revoke(settings: Settings, token_id: str | None, token_stdin: bool) -> None:
    """Revoke a token by id, or by value with --token-stdin.

    A token that was already revoked (or has expired) is left as it is, said so, exit code 0.
    """
    from vault_bridge.ids import check_token_id

    if bool(token_id) == token_stdin:
        raise Fail("give either a token id or --token-stdin")
    with operator_services(settings) as services:
        if token_stdin:
            value = sys.stdin.read().strip()
            verified = services.tokens.verifier.check_signature(value, allow_expired=True)
            owner, wanted = verified.user, verified.token_id
        else:
            wanted = check_token_id(token_id)
            found = services.tokens.find_owner(wanted, services.directory.userpass.list_users)
            if found is None:
                raise Fail(f"no such token: {token_id}")
            owner = found
        record = next((r for r in services.tokens.list(owner, "all") if r["id"] == wanted), None)
        if record is not None and record["state"] != "active":
            click.echo(f"token {wanted} of user {owner} {_ended(record)}; nothing to do")
            return
        if token_stdin:
            services.tokens.revoke_value(value)
        else:
            services.tokens.revoke(owner, wanted, actor="operator")
    click.echo(f"revoked token {wanted} of user {owner}")


def _ended(record: dict[str, Any]) -> str:
    """How a token that no longer works ended, in words."""
    if record["state"] == "revoked":
        return f"was already revoked at {record['revoked_at'] or '?'}"
    return f"has already expired at {record['expires_at']}"


@pats.command("rotate")
@click.argument("token_id")
@click.option(
    "--grace-seconds",
    type=click.IntRange(0, 604800),
    default=0,
    show_default=True,
    help="How long the old token keeps working (at most 7 days).",
)
@pass_settings
def pats_rotate(settings: Settings, token_id: str, grace_seconds: int) -> None:
    """Replace a token by a new one (same name, scopes, lifetime); prints only the new token."""
    from vault_bridge.ids import check_token_id

    wanted = check_token_id(token_id)
    with operator_services(settings) as services:
        owner = services.tokens.find_owner(wanted, services.directory.userpass.list_users)
        if owner is None:
            raise Fail(f"no such token: {token_id}")
        record, token = services.tokens.rotate(owner, wanted, grace_seconds, actor="operator")
    ends = "now" if not grace_seconds else f"in {grace_seconds} s"
    click.echo(
        f"rotated token {wanted} of user {owner}: the new one is {record['id']}, expiring "
        f"{record['expires_at']}; the old one stops {ends}",
        err=True,
    )
    click.echo(token)


@pats.command("revoke-all")
@click.argument("user")
@pass_settings
def pats_revoke_all(settings: Settings, user: str) -> None:
    """Revoke every token of a user."""
    with operator_services(settings) as services:
        existing_user(services, user)
        count = services.tokens.revoke_all(user, actor="operator")
    if count:
        click.echo(f"revoked {count} token(s) of user {user}")
    else:
        click.echo(f"user {user} has no active tokens; nothing to do")


# -- platform defaults and runners ------------------------------------------------------------


@cli.group("platform-tokens")
def platform_tokens() -> None:
    """Platform default provider tokens: used when a job's context has none of its own."""


@platform_tokens.command("set")
@click.argument("provider")
@click.option(
    "--fields-stdin", is_flag=True, required=True, help="Read the fields as JSON from stdin."
)
@pass_settings
def platform_tokens_set(settings: Settings, provider: str, fields_stdin: bool) -> None:
    """Set or replace the platform default for PROVIDER (fields as a JSON object on stdin)."""
    try:
        body = json.loads(sys.stdin.read())
    except ValueError:
        raise Fail("stdin must be a JSON object of the provider's fields") from None
    with operator_services(settings) as services:
        described, _ = services.providers.put("platform", "default", provider, body, "operator")
    click.echo(f"platform default for {provider} is version {described['version']}")


@platform_tokens.command("list")
@pass_settings
def platform_tokens_list(settings: Settings) -> None:
    """List the providers that have a platform default (metadata only)."""
    with operator_services(settings) as services:
        for item in services.providers.list("platform", "default"):
            click.echo(
                f"{item['provider']}\tversion {item['version']}\tupdated {item['updated_at']}"
            )


@platform_tokens.command("delete")
@click.argument("provider")
@pass_settings
def platform_tokens_delete(settings: Settings, provider: str) -> None:
    """Delete the platform default for PROVIDER."""
    with operator_services(settings) as services:
        services.providers.delete("platform", "default", provider, "operator")
    click.echo(f"deleted the platform default for {provider}")


@cli.group()
def runner() -> None:
    """Job runner commands."""


@runner.command("redeem")
@click.option("--grant", "grant", required=True, help="The run-time grant of the job.")
@click.option(
    "--format", "fmt", type=click.Choice(["env", "json"]), default="env", show_default=True
)
@pass_settings
def runner_redeem(settings: Settings, grant: str, fmt: str) -> None:
    """Redeem a grant (as a job runner) and print the credential for the provider's SDK.

    The runner authenticates to Vault with VAULT_BRIDGE_RUNNER_ROLE_ID/SECRET_ID (AppRole
    vault-bridge-runner) or VAULT_TOKEN, and to vault-bridge at VAULT_BRIDGE_URL.
    """
    from vault_bridge.connect import job_runner_client
    from vault_bridge.providers.catalog import load_catalog
    from vault_bridge.runtime.client import RunnerClient

    vault = job_runner_client(settings)
    if vault is None:
        raise Fail(
            "set VAULT_BRIDGE_RUNNER_ROLE_ID and VAULT_BRIDGE_RUNNER_SECRET_ID (or VAULT_TOKEN)"
        )
    with contextlib.closing(vault):
        credential = RunnerClient(settings.bridge_url, vault).redeem(grant)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "provider": credential.provider,
                    "source": credential.source,
                    "job_id": credential.job_id,
                    "fields": credential.fields,
                }
            )
        )
        return
    for name, value in credential.environment(load_catalog()).items():
        click.echo(f"export {name}={shlex.quote(value)}")


# -- keys --------------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """Inspect and rotate the PAT signing key."""


@keys.command("list")
@pass_settings
def keys_list(settings: Settings) -> None:
    """List the signing key versions still accepted."""
    with operator_services(settings) as services:
        versions = services.tokens.keys.versions()
        latest = services.tokens.keys.latest()
    for key in versions:
        marker = "  (signing)" if key.kid == latest.kid else ""
        click.echo(f"{key.kid}\t{key.algorithm}\tcreated {key.created_at}{marker}")


@keys.command("rotate")
@pass_settings
def keys_rotate(settings: Settings) -> None:
    """Add a new key version; new tokens use it, older ones stay valid until they expire."""
    with operator_services(settings) as services:
        services.tokens.keys.transit.rotate()
        services.tokens.keys.refresh()
        latest = services.tokens.keys.latest()
        services.audit.record("key.rotate", actor="operator", target=latest.kid)
    click.echo(f"rotated: new tokens are signed with {latest.kid}")
