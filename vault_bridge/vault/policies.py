"""Policy files: the static policies bootstrap loads and the per-organization templates.

Both are read once from the package (``vault_bridge.policies``) or VAULT_BRIDGE_POLICY_DIR, and
rendered for the configured mount and key names.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from vault_bridge.config import Settings
from vault_bridge.vault.names import ORG_POLICY_KINDS, ORG_ROLE_POLICY, org_policy_name


def render_policy(text: str, settings: Settings) -> str:
    """A policy file with the default mount and key names replaced by the configured ones."""
    text = text.replace("vault-bridge-transit/", f"{settings.transit_mount}/")
    for verb in ("sign", "keys"):
        text = text.replace(f"/{verb}/personal-access-tokens", f"/{verb}/{settings.transit_key}")
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith('path "vault-bridge/'):
            line = line.replace('path "vault-bridge/', f'path "{settings.kv_mount}/', 1)
        lines.append(line)
    return "".join(lines).replace('"auth/userpass/', f'"auth/{settings.userpass_mount}/')


def policy_root(settings: Settings) -> Traversable:
    """Where the policy files are: VAULT_BRIDGE_POLICY_DIR, else the ones in the package."""
    if settings.policy_dir:
        return Path(settings.policy_dir)
    return resources.files("vault_bridge.policies")


def _read_policy_files(root: Traversable) -> dict[str, str]:
    """``{relative name: text}`` of every ``*.hcl`` at the root and in ``templates/``, once."""
    key = str(root)
    if key not in _FILES:
        _FILES[key] = _read_files(root)
    return _FILES[key]


_FILES: dict[str, dict[str, str]] = {}


def _read_files(root: Traversable) -> dict[str, str]:
    files: dict[str, str] = {}
    for folder, prefix in ((root, ""), (root / "templates", "templates/")):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.is_file() and entry.name.endswith(".hcl"):
                files[prefix + entry.name] = entry.read_text(encoding="utf-8")
    return files


USERPASS_ACCESSOR = "<userpass-accessor>"  # in a policy file: the userpass mount's accessor


def load_policies(settings: Settings, userpass_accessor: str) -> dict[str, str]:
    """The static policies (``*.hcl`` at the policy root), rendered for the configured mounts
    and the userpass mount's accessor (only its aliases may be made)."""
    files = _read_policy_files(policy_root(settings))
    policies = {
        name.removesuffix(".hcl"): render_policy(text, settings).replace(
            USERPASS_ACCESSOR, userpass_accessor
        )
        for name, text in sorted(files.items())
        if "/" not in name
    }
    if not policies:
        raise FileNotFoundError(f"no policies found in {policy_root(settings)}")
    return policies


class OrgPolicyTemplates:
    """``templates/org-<kind>.hcl`` rendered once; ``for_org`` fills in a (validated) org id."""

    def __init__(self, settings: Settings) -> None:
        files = _read_policy_files(policy_root(settings))
        self._templates = {
            kind: render_policy(files[f"templates/org-{kind}.hcl"], settings)
            for kind in ORG_POLICY_KINDS
        }

    @property
    def digest(self) -> str:
        """SHA-256 of the rendered templates and which role carries which: equal digests
        render equal policies and put them on the same groups."""
        facts = {"templates": self._templates, "roles": ORG_ROLE_POLICY}
        text = json.dumps(facts, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def for_org(self, org: str) -> dict[str, str]:
        """``{policy name: text}`` of the organization's policies."""
        return {
            org_policy_name(org, kind): text.replace("<org>", org)
            for kind, text in self._templates.items()
        }
