"""The README's configuration table covers every setting."""

from __future__ import annotations

from pathlib import Path

from vault_bridge import scopes
from vault_bridge.config import ENV

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
API_DOC = (ROOT / "docs" / "api.md").read_text()


def test_every_environment_variable_is_in_the_readme_table() -> None:
    table = [line for line in README.splitlines() if line.startswith("| `")]
    missing = [var for var in ENV.values() if not any(f"`{var}`" in line for line in table)]
    assert missing == []


def test_the_api_doc_lists_exactly_the_registered_scopes() -> None:
    section = API_DOC.split("## Scopes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {line.split("`")[1]: line.split("`")[3] for line in rows}
    assert documented == {scope.name: scope.planqk for scope in scopes.REGISTRY}
