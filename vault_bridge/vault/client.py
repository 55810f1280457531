"""One authenticated connection to Vault/OpenBao through hvac's API classes, with every error
translated at this boundary.

The modules of this package call hvac's own API (``secrets.kv.v2``, ``secrets.transit``,
``secrets.identity``, ``auth.userpass``, ``auth.approle``, ``sys``) through ``VaultClient.call``,
which logs in, retries once after a fresh login, and turns hvac's exceptions into domain errors.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import hvac
import hvac.exceptions
import requests
from hvac.adapters import JSONAdapter

from vault_bridge.errors import ServiceUnavailable, VaultBridgeError

log = logging.getLogger(__name__)

JSON = dict[str, Any]
Operation = Callable[[hvac.Client], object]
Report = Callable[[float, str], None]


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


class MeteredAdapter(JSONAdapter):
    """hvac's JSON adapter with a timeout in (fractional) seconds on every request, reporting
    each request's duration and outcome (``ok``, also for a 404; ``error``) for the metrics."""

    def __init__(self, *args: Any, seconds: float, report: Report, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds = seconds
        self.report = report

    def request(self, *args: Any, **kwargs: Any) -> requests.Response | dict[Any, Any]:
        """Send one request (hvac's JSON adapter), timed and counted."""
        kwargs.setdefault("timeout", self.seconds)
        started = time.perf_counter()
        outcome = "error"
        try:
            answer = super().request(*args, **kwargs)
            outcome = "ok"
            return answer
        except hvac.exceptions.InvalidPath:
            outcome = "ok"  # Vault answered: nothing there
            raise
        finally:
            self.report(time.perf_counter() - started, outcome)


class VaultClient:
    """hvac with timeouts, one shared session, login and re-login, metrics, and error mapping.

    ``token`` authenticates directly; ``role_id`` + ``secret_id`` log in through AppRole, renew
    the token at 2/3 of its TTL, and log in again when renewal stops helping or Vault says the
    token is gone.
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
        self._role_id = role_id
        self._secret_id = secret_id
        self._approle_mount = approle_mount
        self._token_expires = float("inf")
        self._token_ttl = 0.0
        self._lock = threading.Lock()
        self.logins = 0  # AppRole logins made (for tests and metrics)
        self.renewals = 0  # token renewals made
        self.calls = 0  # requests sent, for tests and metrics
        self.observer: Report | None = None  # called with (seconds, outcome) after each request
        self._hvac = self._client(token)

    def __repr__(self) -> str:
        return f"VaultClient(addr={self.addr!r})"

    def _client(self, token: str) -> hvac.Client:
        """An hvac client on the shared session that sends ``token`` (nothing when empty)."""
        return hvac.Client(
            url=self.addr,
            token=token,  # never None: hvac would fall back to VAULT_TOKEN or ~/.vault-token
            session=self._session,
            adapter=MeteredAdapter,
            seconds=self._timeout,
            report=self._report,
        )

    def _report(self, seconds: float, outcome: str) -> None:
        self.calls += 1
        if self.observer is not None:
            self.observer(seconds, outcome)

    @property
    def token(self) -> str:
        """The current Vault token (a secret: never log it)."""
        self._ensure_login()
        return self._hvac.token or ""

    # -- login ---------------------------------------------------------------------------------

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
            self._hvac.token = str(auth["client_token"])
            self._token_ttl = float(auth.get("lease_duration") or 0)
            self._schedule(self._token_ttl)
            self.logins += 1

    def _schedule(self, ttl: float) -> None:
        self._token_expires = time.monotonic() + ttl * 2 / 3 if ttl else float("inf")

    def _renew(self) -> bool:
        """Renew the current token (at 2/3 of its TTL); False when it cannot be renewed for at
        least half of its original TTL any more (its max TTL is near), or is gone."""
        try:
            body = self.call(lambda vault: vault.auth.token.renew_self(), token=self._hvac.token)
        except VaultBridgeError:
            return False
        ttl = float(((body or {}).get("auth") or {}).get("lease_duration") or 0)
        if ttl < self._token_ttl / 2:
            return False
        self._schedule(ttl)
        self.renewals += 1
        return True

    def approle_login(self, role_id: str, secret_id: str) -> JSON:
        """Log in through AppRole and return the ``auth`` block.

        Supported methods: POST: /auth/{approle_mount}/login
        """
        mount = self._approle_mount
        body = self.call(
            lambda vault: vault.auth.approle.login(
                role_id, secret_id, use_token=False, mount_point=mount
            ),
            authenticated=False,
        )
        auth = (body or {}).get("auth")
        if not isinstance(auth, dict):
            raise VaultError("Vault answered an AppRole login without a token")
        return auth

    def close(self) -> None:
        """Revoke the token this client logged in for and close its connections.

        A token it was given (VAULT_TOKEN) belongs to the caller and is left as it is. A failed
        revocation is not an error: the token still ends with its TTL. Used again, the client
        logs in anew.
        """
        with self._lock:
            token = self._hvac.token if self._role_id else ""
            if token:
                self._hvac.token = ""
                self._token_expires = -1.0
        if token:
            self._revoke(token)
        self._session.close()

    def _revoke(self, token: str) -> None:
        """Revoke a token this client logged in for; a token already gone is no error."""
        with contextlib.suppress(VaultBridgeError):
            self.call(lambda vault: vault.auth.token.revoke_self(), token=token)

    # -- calls ---------------------------------------------------------------------------------

    def call(
        self, operation: Operation, *, token: str | None = None, authenticated: bool = True
    ) -> JSON | None:
        """Run one hvac API call; return its JSON body, None for 204 and 404.

        ``token`` sends another token than the service's own (a caller's), ``authenticated=False``
        none at all. Raises ServiceUnavailable when Vault cannot answer (down, sealed,
        uninitialized, timeout), VaultForbidden on 403, CasConflict on a lost check-and-set,
        VaultInvalidRequest on another 400, VaultError otherwise.
        """
        if token is not None or not authenticated:
            return self._run(operation, self._client(token or ""), login_again=False)
        self._ensure_login()
        return self._run(operation, self._hvac, login_again=bool(self._role_id))

    def _run(self, operation: Operation, vault: hvac.Client, *, login_again: bool) -> JSON | None:
        used = vault.token
        try:
            return _body(operation(vault))
        except hvac.exceptions.InvalidPath:
            return None
        except hvac.exceptions.Forbidden as exc:
            if login_again:
                # our token may have expired or been revoked: log in again, once; when another
                # thread already did, just try again with its token
                with self._lock:
                    refused = used if used and self._hvac.token == used else ""
                    if refused:
                        self._token_expires = -1.0  # no renewal: a fresh login
                self._ensure_login()
                if refused and refused != self._hvac.token:
                    self._revoke(refused)  # it may still be valid: leave no live token behind
                return self._run(operation, vault, login_again=False)
            raise VaultForbidden(f"Vault denied {_where(exc)}") from None
        except hvac.exceptions.InvalidRequest as exc:
            text = " ".join(str(error) for error in (exc.errors or []))
            if "check-and-set" in text:
                raise CasConflict(f"concurrent update of {_where(exc)}") from None
            if "non-versioned to versioned" in text.lower():
                # a freshly mounted KV v2 upgrading its storage for a moment ("Upgrading from
                # non-versioned to versioned data", or "upgrade from ..." on a standby):
                # retryable, not the caller's fault
                raise ServiceUnavailable(
                    "Vault is still preparing the KV mount; try again"
                ) from None
            raise VaultInvalidRequest(f"Vault rejected {_where(exc)}: {text[:200]}") from None
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
            if self._sealed():  # a request caught by a seal in progress: say what it is
                raise ServiceUnavailable(
                    "Vault is sealed: an operator must unseal it; nothing was changed",
                    code="vault_sealed",
                ) from None
            raise ServiceUnavailable("Vault answered with a server error") from None
        except hvac.exceptions.VaultError as exc:
            raise VaultError(f"Vault refused {_where(exc)} ({type(exc).__name__})") from None

    # -- any path (operators' tools and tests; the modules here use hvac's API classes) ----------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: JSON | None = None,
        authenticated: bool = True,
        wrap_ttl: str | None = None,
        token: str | None = None,
    ) -> JSON | None:
        """Send one request to ``/v1/<path>``, errors mapped as in ``call``."""
        return self.call(
            lambda vault: vault.adapter.request(
                method, f"/v1/{path}", json=json, wrap_ttl=wrap_ttl
            ),
            token=token,
            authenticated=authenticated,
        )

    def read(self, path: str) -> JSON | None:
        """GET a path; None when it does not exist."""
        return self.request("GET", path)

    def write(self, path: str, data: JSON | None = None) -> JSON | None:
        """POST data to a path."""
        return self.request("POST", path, json=data or {})

    def list(self, path: str) -> list[str]:
        """LIST a path; empty when nothing is there."""
        return keys_of(self.request("LIST", path))

    def delete(self, path: str) -> None:
        """DELETE a path (no error when it is already gone)."""
        self.request("DELETE", path)

    def _sealed(self) -> bool:
        """True when Vault reports itself sealed now (false when it cannot say)."""
        try:
            return bool(self.health().get("sealed"))
        except ServiceUnavailable:
            return False

    def health(self) -> JSON:
        """Read sys/health without raising on sealed/uninitialized; ServiceUnavailable if down.

        Supported methods: GET: /sys/health
        """
        try:
            answer = self._hvac.sys.read_health_status(
                method="GET",
                standby_ok=True,
                performance_standby_code=200,
                sealed_code=200,
                uninit_code=200,
            )
        except (requests.ConnectionError, requests.Timeout):
            raise ServiceUnavailable(f"Vault at {self.addr} is unreachable") from None
        body = _body(answer, strict=False) if isinstance(answer, requests.Response) else answer
        if not isinstance(body, dict):
            raise ServiceUnavailable(f"{self.addr} does not answer like Vault")
        return body


def data_of(body: JSON | None) -> JSON | None:
    """The ``data`` object of an answer; None when there is none."""
    data = (body or {}).get("data")
    return data if isinstance(data, dict) else None


def keys_of(body: JSON | None) -> list[str]:
    """The ``keys`` of a LIST answer; empty when there are none."""
    keys = (data_of(body) or {}).get("keys") or []
    return [str(key) for key in keys]


def _body(answer: object, *, strict: bool = True) -> JSON | None:
    """hvac's answer as a JSON object: its JSON adapter gives a dict for 200 and a Response
    otherwise (204, or any status when exceptions are off)."""
    if answer is None or isinstance(answer, dict):
        return answer
    if isinstance(answer, requests.Response):
        if answer.status_code == 204 or not answer.content:
            return None
        try:
            body = answer.json()
        except ValueError:
            if not strict:
                return None
            raise VaultError("Vault answered with something other than JSON") from None
        return body if isinstance(body, dict) else None
    raise TypeError(f"unexpected answer from hvac: {type(answer).__name__}")


def _where(exc: hvac.exceptions.VaultError) -> str:
    """``METHOD /path`` of a failed request (paths name ids, never secrets)."""
    path = urlsplit(str(exc.url or "")).path.removeprefix("/v1/")
    return f"{str(exc.method or '').upper()} {path}".strip()
