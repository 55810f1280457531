"""The registry of PAT scopes: API models, the settings UI, the CLI and the docs read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """One PAT scope."""

    name: str
    planqk: str  # PLANQK's spelling (its API enum), accepted on input
    summary: str


REGISTRY: tuple[Scope, ...] = (
    Scope(
        "api",
        "API",
        "Use the platform API and the PLANQK CLI.",
    ),
    Scope(
        "quantum_tokens",
        "QUANTUM_TOKENS",
        "Run jobs on quantum backends with your provider tokens; needed by the Quantum SDK "
        "(together with api).",
    ),
)

NAMES: tuple[str, ...] = tuple(scope.name for scope in REGISTRY)
API = "api"
QUANTUM_TOKENS = "quantum_tokens"
RUN_JOBS: tuple[str, ...] = (API, QUANTUM_TOKENS)


def listing() -> str:
    """The scope names as a human list: ``api, quantum_tokens``."""
    return ", ".join(NAMES)
