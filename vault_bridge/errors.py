"""Domain errors: each carries an HTTP status and a machine code, never a secret."""

from __future__ import annotations


class ConfigError(ValueError):
    """A setting is missing or malformed."""


class VaultBridgeError(Exception):
    """Base of every error the service reports to a caller."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field  # the input field at fault, for forms
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequest(VaultBridgeError):
    """The input is malformed or breaks a rule."""

    status = 400
    code = "bad_request"


class Unauthenticated(VaultBridgeError):
    """No credentials, or credentials that do not verify."""

    status = 401
    code = "unauthenticated"


class Forbidden(VaultBridgeError):
    """Authenticated, but not allowed to do this."""

    status = 403
    code = "forbidden"


class NotFound(VaultBridgeError):
    """The object does not exist, or the caller may not know it does."""

    status = 404
    code = "not_found"


class Conflict(VaultBridgeError):
    """The request conflicts with the current state."""

    status = 409
    code = "conflict"


class ServiceUnavailable(VaultBridgeError):
    """Vault is unreachable, sealed, not bootstrapped, or a cache is too stale to trust."""

    status = 503
    code = "vault_unavailable"


class TooManyRequests(VaultBridgeError):
    """Too many failed attempts; try again in ``retry_after`` seconds."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, code=code)
        self.retry_after = max(1, int(retry_after))


def error_headers(exc: VaultBridgeError) -> dict[str, str]:
    """Headers an error answer carries besides its body: how long a 429 lasts."""
    if isinstance(exc, TooManyRequests):
        return {"Retry-After": str(exc.retry_after)}
    return {}
