"""The package list in pyproject.toml covers the tree, and the installed names resolve."""

from __future__ import annotations

import tomllib
from importlib import import_module, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_tree_is_listed() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "vault_bridge").rglob("__init__.py")
    }
    found |= {"vault_bridge.web", "vault_bridge.policies"}
    assert found == listed


def test_web_and_policies_are_inside_the_vault_bridge_namespace() -> None:
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {
        "vault_bridge.web": "web",
        "vault_bridge.policies": "policies",
    }
    assert import_module("vault_bridge.web").__name__ == "vault_bridge.web"
    names = {entry.name for entry in resources.files("vault_bridge.policies").iterdir()}
    assert {"vault-bridge-service.hcl", "templates"} <= names
    templates = resources.files("vault_bridge.policies") / "templates"
    assert {entry.name for entry in templates.iterdir()} >= {"org-maintain.hcl", "org-view.hcl"}
