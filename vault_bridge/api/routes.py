"""Shared route declarations of the JSON API: who may call, and which errors each kind of route
answers with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ParamSpec, TypeVar

from pydantic import BaseModel

from vault_bridge.api.models import ContextHeaders, Error
from vault_bridge.api.spec import ANY_AUTH, ANY_AUTH_CHANGE, operation

P = ParamSpec("P")
R = TypeVar("R")

READ_ERRORS = (400, 401, 403, 404, 503)
WRITE_ERRORS = (400, 401, 403, 404, 409, 503)


def api_operation(
    tag: str,
    ok: dict[int, type[BaseModel] | None],
    *,
    json: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    change: bool = False,
    security: list[dict[str, list[str]]] | None = None,
    errors: Sequence[int] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """An authenticated ``/api/v1`` route (X-OrganizationId accepted)."""
    return operation(
        ok=ok,
        errors=errors or (WRITE_ERRORS if change else READ_ERRORS),
        error_model=Error,
        security=security or (ANY_AUTH_CHANGE if change else ANY_AUTH),
        tags=(tag,),
        json=json,
        query=query,
        headers=ContextHeaders,
    )
