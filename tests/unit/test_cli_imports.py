"""What a ``vault-bridge`` command imports: the domain services, not the web layer."""

from __future__ import annotations

import json
import subprocess
import sys

# In a fresh interpreter: the CLI, then the services an operator command builds and uses
# (an audit event included), with a Vault address that is never called.
COMMAND = """
import json, sys
from vault_bridge.cli import cli
from vault_bridge.config import Settings
from vault_bridge.services import Services
from vault_bridge.vault.client import VaultClient

settings = Settings.from_env(env={}, vault_addr="http://127.0.0.1:9", audit_log="off")
services = Services(settings, VaultClient(settings.vault_addr), reconciler_vault=None)
services.audit.record("test.event", actor="operator")
web = {"flask", "werkzeug", "jinja2", "flask_login", "spectree"}
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in web)))
"""


def test_a_command_builds_its_services_without_importing_flask() -> None:
    """Flask, Werkzeug and Jinja cost a command about 0.1 s of CPU at start, for nothing."""
    result = subprocess.run(
        [sys.executable, "-c", COMMAND], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []
