"""One authenticated connection to Vault/OpenBao, with every error translated at this boundary."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import hvac
import hvac.exceptions
import requests

from vault_bridge.errors import ServiceUnavailable, VaultBridgeError

log = logging.getLogger(__name__)


class VaultError(VaultBridgeError):
    """Vault refused a request for a reason other than being unavailable (an upstream error)."""

    status = 502
    code = "vault_error"


class VaultForbidden(VaultError):
    """The token in use lacks a capability (403 from Vault): the service is misconfigured."""

    status = 503
    code = "vault_forbidden"


class VaultInvalidRequest(VaultError):
    """Vault rejected the request as malformed (400 from Vault): input it cannot take."""

    status = 400
    code = "rejected_by_vault"


class CasConflict(VaultError):
    """A KV v2 check-and-set write lost a race."""

    status = 409
    code = "cas_conflict"


class VaultClient:
    """An hvac client with timeouts, one shared session, login and re-login, and error mapping.

    ``token`` authenticates directly; ``role_id`` + ``secret_id`` log in through AppRole and log in
    again when the token nears its expiry or Vault says it is gone.
    """

    def __init__(
        self,
        addr: str,
        *,
        token: str = "",
        role_id: str = "",
        secret_id: str = "",
        approle_mount: str = "approle",
        timeout: float = 2.0,
    ) -> None:
        session = requests.Session()
        session.trust_env = False  # no proxy or netrc lookups: ~0.5 ms per call
        self.addr = addr
        self._session = session
        self._timeout = timeout
        self._hvac = hvac.Client(url=addr, token=token or None, timeout=timeout, session=session)
        self._role_id = role_id
        self._secret_id = secret_id
        self._approle_mount = approle_mount
        self._token_expires = float("inf")
        self._token_ttl = 0.0
        self._lock = threading.Lock()
        self.logins = 0  # AppRole logins made (for tests and metrics)
        self.renewals = 0  # token renewals made
        self.calls = 0  # requests sent, for tests and metrics
        self.observer: Any = None  # called with (seconds, outcome) after each request

    def __repr__(self) -> str:
        return f"VaultClient(addr={self.addr!r})"

    @property
    def token(self) -> str:
        """The current Vault token (a secret: never log it)."""
        self._ensure_login()
        return self._hvac.token or ""

    def _ensure_login(self) -> None:
        if not self._role_id:
            return
        if self._hvac.token and time.monotonic() < self._token_expires:
            return
        with self._lock:
            if self._hvac.token and time.monotonic() < self._token_expires:
                return
            if self._hvac.token and self._token_expires > 0 and self._renew():
                return
            auth = self.approle_login(self._role_id, self._secret_id)
            self._hvac.token = auth["client_token"]
            self._token_ttl = float(auth.get("lease_duration") or 0)
            self._schedule(self._token_ttl)
            self.logins += 1

    def _schedule(self, ttl: float) -> None:
        self._token_expires = time.monotonic() + ttl * 2 / 3 if ttl else float("inf")

    def _renew(self) -> bool:
        """Renew the current token (at 2/3 of its TTL); False when it cannot be renewed for at
        least half of its original TTL any more (its max TTL is near), or is gone."""
        try:
            body = self.request("POST", "auth/token/renew-self", json={}, token=self._hvac.token)
        except VaultBridgeError:
            return False
        ttl = float(((body or {}).get("auth") or {}).get("lease_duration") or 0)
        if ttl < self._token_ttl / 2:
            return False
        self._schedule(ttl)
        self.renewals += 1
        return True

    def approle_login(self, role_id: str, secret_id: str) -> dict[str, Any]:
        """Log in through AppRole and return the ``auth`` block.

        Supported methods: POST: /auth/{approle_mount}/login
        """
        body = self.request(
            "POST",
            f"auth/{self._approle_mount}/login",
            json={"role_id": role_id, "secret_id": secret_id},
            authenticated=False,
        )
        return (body or {})["auth"]

    def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        authenticated: bool = True,
        wrap_ttl: str | None = None,
        token: str | None = None,
    ) -> dict[str, Any] | None:
        """Send one request to ``/v1/<path>``; return the JSON body, or None for 204 and 404.

        Raises ServiceUnavailable when Vault cannot answer (down, sealed, uninitialized, timeout),
        VaultForbidden on 403, CasConflict on a lost check-and-set, VaultError otherwise.
        """
        if authenticated and token is None:
            self._ensure_login()
        headers: dict[str, str] = {}
        if wrap_ttl:
            headers["X-Vault-Wrap-TTL"] = wrap_ttl
        adapter = self._hvac.adapter
        if token is not None or not authenticated:
            # hvac always sends its own token: use a tokenless or other-token client instead
            adapter = hvac.Client(
                url=self.addr, token=token or None, timeout=self._timeout, session=self._session
            ).adapter
        self.calls += 1
        started = time.perf_counter()
        outcome = "error"
        try:
            result = self._send(
                adapter, method, path, headers, json, token, authenticated, wrap_ttl
            )
            outcome = "ok"
            return result
        finally:
            if self.observer is not None:
                self.observer(time.perf_counter() - started, outcome)

    def _send(
        self,
        adapter: Any,
        method: str,
        path: str,
        headers: dict[str, str],
        json: dict[str, Any] | None,
        token: str | None,
        authenticated: bool,
        wrap_ttl: str | None,
    ) -> dict[str, Any] | None:
        """One request, with Vault's answers translated into domain errors."""
        try:
            response = adapter.request(method, f"/v1/{path}", headers=headers or None, json=json)
        except hvac.exceptions.InvalidPath:
            return None
        except hvac.exceptions.Forbidden:
            if self._role_id and token is None and authenticated:
                # our token may have expired or been revoked: log in again, once
                self._token_expires = -1.0  # no renewal: a fresh login
                return self._retry_after_login(method, path, json, wrap_ttl)
            raise VaultForbidden(f"Vault denied {method} {path}") from None
        except hvac.exceptions.InvalidRequest as exc:
            text = " ".join(str(e) for e in (exc.errors or []))
            if "check-and-set" in text:
                raise CasConflict(f"concurrent update of {path}") from None
            if "upgrade from non-versioned to versioned" in text:
                # a freshly mounted KV v2 on a standby, for a moment: retryable, not our fault
                raise ServiceUnavailable(
                    "Vault is still preparing the KV mount; try again"
                ) from None
            raise VaultInvalidRequest(f"Vault rejected {method} {path}: {_safe(text)}") from None
        except hvac.exceptions.VaultDown:
            raise ServiceUnavailable(
                "Vault is sealed: an operator must unseal it; nothing was changed",
                code="vault_sealed",
            ) from None
        except hvac.exceptions.VaultNotInitialized:
            raise ServiceUnavailable(
                "Vault is not initialized", code="vault_uninitialized"
            ) from None
        except (requests.ConnectionError, requests.Timeout):
            raise ServiceUnavailable(f"Vault at {self.addr} is unreachable") from None
        except (hvac.exceptions.InternalServerError, hvac.exceptions.BadGateway):
            raise ServiceUnavailable("Vault answered with a server error") from None
        except hvac.exceptions.VaultError as exc:
            raise VaultError(f"Vault refused {method} {path} ({type(exc).__name__})") from None
        if isinstance(response, requests.Response):
            return None if response.status_code == 204 else response.json()
        return response

    def _retry_after_login(
        self, method: str, path: str, json: dict[str, Any] | None, wrap_ttl: str | None
    ) -> dict[str, Any] | None:
        self._ensure_login()
        try:
            return self._hvac.adapter.request(
                method,
                f"/v1/{path}",
                headers={"X-Vault-Wrap-TTL": wrap_ttl} if wrap_ttl else None,
                json=json,
            )
        except hvac.exceptions.InvalidPath:
            return None
        except hvac.exceptions.Forbidden:
            raise VaultForbidden(f"Vault denied {method} {path}") from None

    def read(self, path: str) -> dict[str, Any] | None:
        """GET a path; None when it does not exist."""
        return self.request("GET", path)

    def write(self, path: str, data: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """POST data to a path."""
        return self.request("POST", path, json=data or {})

    def list(self, path: str) -> list[str]:
        """LIST a path; empty when nothing is there."""
        body = self.request("LIST", path)
        return list(((body or {}).get("data") or {}).get("keys") or [])

    def delete(self, path: str) -> None:
        """DELETE a path (no error when it is already gone)."""
        self.request("DELETE", path)

    def health(self) -> dict[str, Any]:
        """Read sys/health without raising on sealed/uninitialized; ServiceUnavailable if down."""
        self.calls += 1
        try:
            response = self._hvac.adapter.request(
                "GET",
                "/v1/sys/health?standbyok=true&perfstandbyok=true&sealedcode=200&uninitcode=200",
                raise_exception=False,
            )
        except (requests.ConnectionError, requests.Timeout):
            raise ServiceUnavailable(f"Vault at {self.addr} is unreachable") from None
        if isinstance(response, requests.Response):
            try:
                return response.json()
            except ValueError:
                raise ServiceUnavailable(f"{self.addr} does not answer like Vault") from None
        return response


def _safe(text: str) -> str:
    """Vault error texts name paths and parameters, not values; still, keep them short."""
    return text[:200]
