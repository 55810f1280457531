"""The README's configuration table covers every setting."""

from __future__ import annotations

from pathlib import Path

from vault_bridge.config import ENV

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_environment_variable_is_in_the_readme_table() -> None:
    table = [line for line in README.splitlines() if line.startswith("| `")]
    missing = [var for var in ENV.values() if not any(f"`{var}`" in line for line in table)]
    assert missing == []
