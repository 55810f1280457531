"""What a ``vault-bridge`` command imports: what it runs, not the web layer nor other commands."""

from __future__ import annotations

import json
import subprocess
import sys

WEB = ["flask", "werkzeug", "jinja2", "flask_login", "spectree"]
# what `--help` needs none of: settings, Vault, tokens, metrics, the event loop
HEAVY = ["pydantic", "pydantic_settings", "hvac", "requests", "jwt", "cryptography"]
HEAVY += ["prometheus_client", "asyncio", "vault_bridge.config", "vault_bridge.services"]
# what the services import only when the token part is first used
TOKENS = ["jwt", "cryptography", "vault_bridge.tokens", "vault_bridge.runtime"]

# In a fresh interpreter: the CLI, then the services an operator command builds and uses
# (an audit event and the directory included), with a Vault address that is never called.
SERVICES = """
import json, sys
from vault_bridge.cli import cli
from vault_bridge.config import Settings
from vault_bridge.services import Services
from vault_bridge.vault.client import VaultClient

settings = Settings.from_env(env={}, vault_addr="http://127.0.0.1:9", audit_log="off")
services = Services(settings, VaultClient(settings.vault_addr), reconciler_vault=None)
services.audit.record("test.event", actor="operator")
services.directory
print(json.dumps(sorted(sys.modules)))
"""

# The console entry point itself, as `vault-bridge --help` and `vault-bridge users --help`.
HELP = """
import json, sys
from vault_bridge.cli import main
sys.argv = ["vault-bridge", *sys.argv[1:]]
try:
    main()
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported(code: str, *args: str) -> tuple[str, list[str]]:
    """Run ``code`` in a fresh interpreter: its stdout, and the modules it had imported (the
    JSON list it printed last, on stdout or stderr)."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = result.stderr if result.stderr.strip() else result.stdout
    return result.stdout, json.loads(report.strip().splitlines()[-1])


def among(modules: list[str], roots: list[str]) -> list[str]:
    """The modules that are one of ``roots`` or inside one."""
    return [m for m in modules if any(m == r or m.startswith(f"{r}.") for r in roots)]


def test_a_command_builds_its_services_without_importing_flask() -> None:
    """Flask, Werkzeug and Jinja cost a command about 0.1 s of CPU at start, for nothing."""
    _, modules = imported(SERVICES)
    assert among(modules, WEB) == []


def test_services_import_the_token_machinery_only_when_a_command_uses_it() -> None:
    """PyJWT, cryptography and the token and runtime modules cost about 0.1 s of CPU; the
    directory commands (``users list``, ``users create``) never use them."""
    _, modules = imported(SERVICES)
    assert among(modules, TOKENS) == []
    assert "vault_bridge.directory.users" in modules  # the check sees what was imported


def test_help_imports_no_settings_vault_or_token_modules() -> None:
    """``vault-bridge --help`` (and a group's help) costs click and the command table only."""
    for args in (["--help"], ["users", "--help"], ["pats", "create", "--help"]):
        out, modules = imported(HELP, *args)
        assert "Usage: vault-bridge" in out
        assert among(modules, HEAVY + WEB) == [], args
        assert "click" in modules


def test_write_credentials_offers_exactly_the_approles_bootstrap_creates() -> None:
    """The command's choices come from the role names, not from bootstrap (not imported for
    ``--help``): both must name the same roles."""
    from vault_bridge.bootstrap import APPROLES
    from vault_bridge.cli import write_credentials_command

    role = next(p for p in write_credentials_command.params if p.name == "role")
    assert sorted(role.type.choices) == sorted(APPROLES)  # type: ignore[attr-defined]
