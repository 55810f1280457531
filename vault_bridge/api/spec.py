"""One source of truth for requests, answers and the OpenAPI document: pydantic models declared
on each route with spectree, which validates requests and writes the document.

Validation errors keep the service's error shape, ``{"error": {"code", "message", "field"}}``:
each model field names its machine code (``x-error-code`` in the document).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from flask import Response as FlaskResponse
from flask import current_app, make_response, request
from pydantic import BaseModel, Field, ValidationError
from spectree import Response, SecurityScheme, SpecTree
from spectree.models import InType, SecureType, SecuritySchemeData
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin
from spectree.utils import get_multidict_items

from vault_bridge.errors import BadRequest

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)

ERROR_CODE = "x-error-code"
MODELS: dict[str, type[BaseModel]] = {}  # request models by name, to find a field's error code

# Who may call: a PAT in either header, or a session (with its CSRF token to change anything).
Security = list[dict[str, list[str]]]
PAT: Security = [{"bearer": []}, {"patHeader": []}]
ANY_AUTH: Security = [*PAT, {"session": []}]
ANY_AUTH_CHANGE: Security = [*PAT, {"session": [], "csrf": []}]
SESSION_CHANGE: Security = [{"session": [], "csrf": []}]
RUNNER: Security = [{"runnerToken": []}]
PUBLIC: Security = []


def _api_key(key: str, description: str, header: str, where: InType) -> SecurityScheme:
    data = SecuritySchemeData(
        type=SecureType.API_KEY, name=header, field_in=where, description=description
    )
    return SecurityScheme(name=key, data=data)


BOTH_HEADERS = (
    "Sent in both Authorization and X-Auth-Token, the two must carry the same token: different "
    "values are refused with 400 ambiguous_credentials."
)

SECURITY_SCHEMES = [
    SecurityScheme(
        name="bearer",
        data=SecuritySchemeData(
            type=SecureType.HTTP,
            scheme="bearer",
            bearer_format="JWT",
            description=f"A PAT. {BOTH_HEADERS}",
        ),
    ),
    _api_key(
        "patHeader",
        f"A PAT, in the header PLANQK clients send. {BOTH_HEADERS}",
        "X-Auth-Token",
        InType.HEADER,
    ),
    _api_key(
        "session",
        "The session cookie set by POST /api/v1/session or the sign-in form",
        "vault_bridge_session",
        InType.COOKIE,
    ),
    _api_key(
        "csrf",
        "The session's csrf_token, sent back on state-changing requests",
        "X-CSRF-Token",
        InType.HEADER,
    ),
    _api_key(
        "runnerToken",
        "A job runner's own Vault token (policy vault-bridge-runner)",
        "X-Vault-Token",
        InType.HEADER,
    ),
]


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="machine code, e.g. invalid_name, token_revoked")
    message: str = Field(description="for humans; never a secret")
    field: str | None = Field(None, description="the input field at fault, where one is")


class Error(BaseModel):
    """Every error answer of the JSON API."""

    error: ErrorDetail


class RequestModel(BaseModel):
    """Base of request models: registered so that a validation error finds its field's code."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        MODELS[cls.__name__] = cls


def coded(code: str, **extra: Any) -> dict[str, Any]:
    """``json_schema_extra`` naming the machine code of a field's validation errors."""
    return {ERROR_CODE: code, **extra}


def refusal(error: ValidationError) -> BadRequest:
    """The 400 for a request model's first validation error, with its field's code."""
    first = error.errors(include_url=False, include_input=False)[0]
    location = [str(part) for part in first["loc"]]
    field = location[0] if location else None
    code = "missing_field" if first["type"] == "missing" else "invalid_field"
    model = MODELS.get(error.title)
    if model is not None and field is not None:
        info = model.model_fields.get(field) or next(
            (f for f in model.model_fields.values() if f.alias == field), None
        )
        extra = info.json_schema_extra if info is not None else None
        if isinstance(extra, dict) and isinstance(extra.get(ERROR_CODE), str):
            code = str(extra[ERROR_CODE])
    where = ".".join(location)
    message = (
        f"field '{where}': {first['msg'][:1].lower()}{first['msg'][1:]}" if where else first["msg"]
    )
    return BadRequest(message, code=code, field=field)


def _before(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    if isinstance(error, ValidationError):
        raise refusal(error) from None


def _after(req: Any, resp: Any, error: Exception | None, instance: Any, adapter: Any) -> None:
    if error is not None:
        raise AssertionError(f"the answer of {request.endpoint} breaks its documented schema")


@functools.cache
def declared_headers(model: type[BaseModel]) -> tuple[str, ...]:
    """The header names a headers model reads (its fields' aliases)."""
    return tuple(
        (info.validation_alias if isinstance(info.validation_alias, str) else None)
        or info.alias
        or name
        for name, info in model.model_fields.items()
    )


class Plugin(FlaskPlugin):
    """spectree's Flask plugin, validating only what a route declares (no route takes forms or
    cookies) and checking answers against their models only under test (the fuzzing suite),
    not in production, where a drift must not become an outage."""

    def request_validation(
        self, request: Any, query: Any, json: Any, form: Any, headers: Any, cookies: Any
    ) -> None:
        """Validate the declared query, JSON body and headers into ``request.context``.

        The library copies every header and parses the cookies of every request whatever the
        route declares; here a headers model sees the headers it names (looked up without
        regard to case), which is all a model can read."""
        if form is not None or cookies is not None:
            super().request_validation(  # type: ignore[no-untyped-call]
                request, query, json, form, headers, cookies
            )
            return
        adapter = self.model_adapter
        sent = request.headers
        use_json = (
            json is not None
            and request.method not in ("GET", "DELETE")
            and request.mimetype not in self.FORM_MIMETYPE
        )
        request.context = Context(
            adapter.validate_obj(query, get_multidict_items(request.args, query))
            if query is not None
            else None,
            adapter.validate_obj(json, request.get_json(silent=True) or {}) if use_json else None,
            None,
            adapter.validate_obj(
                headers,
                {name: sent[name] for name in declared_headers(headers) if name in sent},
            )
            if headers is not None
            else None,
            None,
        )

    def validate_response(
        self, resp: Any, resp_model: Any, skip_validation: bool, force_resp_serialize: bool
    ) -> Any:
        """Validate the answer when the app is under test; otherwise pass a view's own answer
        on as it is (the library would copy its body into a new response object)."""
        skip = skip_validation or not current_app.testing
        answer = resp[0] if isinstance(resp, tuple) else resp
        if skip and isinstance(answer, FlaskResponse | str | bytes):
            return make_response(resp), None
        return super().validate_response(resp, resp_model, skip, force_resp_serialize)


class LazySchemaSpecTree(SpecTree):
    """spectree, rendering each model's JSON schema when the OpenAPI document is first built
    instead of when a route is declared (at import).

    Only a process that serves the document needs the schemas; every other (gunicorn workers
    until a client asks, commands, a replica's start) spent about 0.18 s of CPU generating them
    at import. The document is the same: models are rendered in the order they were declared.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unrendered: list[tuple[Any, Any]] = []
        self._render_lock = threading.Lock()

    def _add_model(self, model: Any, mode: Any = "validation") -> str:
        self._unrendered.append((model, mode))
        return str(self.naming_strategy(model))

    def _generate_spec(self) -> dict[str, Any]:
        with self._render_lock:
            for model, mode in self._unrendered:
                super()._add_model(model, mode)
            self._unrendered.clear()
            return super()._generate_spec()


spec = LazySchemaSpecTree(
    "flask",
    backend=Plugin,
    mode="strict",
    title="vault-bridge",
    version="1",
    description=(
        "Personal access tokens, provider access tokens and run-time grants, kept in Vault or "
        'OpenBao. Errors are {"error": {"code", "message", "field"}}; the PLANQK '
        "surfaces (/qc-catalog, /quantum) answer errors in their clients' shapes."
    ),
    annotations=False,
    security_schemes=SECURITY_SCHEMES,
    validation_error_status=400,
    validation_error_model=Error,
    before=_before,
    after=_after,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)


def require_json_object() -> None:
    """Refuse a body that is not a JSON object sent as application/json (400 ``invalid_json``)."""
    if not request.is_json:
        raise BadRequest(
            "send a JSON object with Content-Type: application/json", code="invalid_json"
        )
    if not isinstance(request.get_json(silent=True), dict):
        raise BadRequest("the body must be a JSON object", code="invalid_json")


def operation(
    *,
    ok: dict[int, type[BaseModel] | None],
    errors: Sequence[int],
    error_model: type[BaseModel],
    security: list[dict[str, list[str]]],
    tags: Sequence[str],
    json: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: type[BaseModel] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare a route's models: validated on the way in, documented in the OpenAPI document."""
    answers: dict[str, Any] = {f"HTTP_{status}": model for status, model in ok.items()}
    answers.update({f"HTTP_{status}": error_model for status in errors})
    validate = spec.validate(
        json=json,
        query=query,
        headers=headers,
        resp=Response(**answers),
        security=security,
        tags=list(tags),
    )

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        validated = validate(view)

        @functools.wraps(validated)
        def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            if json is not None:
                require_json_object()
            result: R = validated(*args, **kwargs)
            return result

        return checked

    return decorate


def body(model: type[M]) -> M:
    """The validated JSON body of the current request."""
    value = getattr(getattr(request, "context", None), "json", None)
    if not isinstance(value, model):
        raise TypeError(f"{request.endpoint} has no {model.__name__} body")
    return value


def query(model: type[M]) -> M:
    """The validated query of the current request."""
    value = getattr(getattr(request, "context", None), "query", None)
    if not isinstance(value, model):
        raise TypeError(f"{request.endpoint} has no {model.__name__} query")
    return value


def document() -> dict[str, Any]:
    """The OpenAPI document of the current app."""
    return dict(spec.spec)
