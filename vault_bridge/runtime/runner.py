"""The bundled job runner: a small thread pool with its own Vault identity (AppRole
vault-bridge-runner). For each job it redeems the job's run-time grant, unwraps the credential at
Vault itself, calls the provider through an adapter, and records the outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypedDict

from vault_bridge.errors import VaultBridgeError
from vault_bridge.runtime.adapters import ADAPTERS
from vault_bridge.runtime.client import credential_from
from vault_bridge.runtime.grants import RuntimeGrants
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.wrapping import unwrap

log = logging.getLogger(__name__)


class Job(TypedDict):
    """A job as stored (the reference /quantum surface's jobs)."""

    id: str
    provider: str
    backend_id: str
    shots: int
    input: dict[str, Any]
    input_format: str
    input_params: dict[str, Any]
    sdk_provider: str | None
    name: str | None
    tags: list[str]
    status: str
    created_at: str
    started_at: str | None
    ended_at: str | None
    provider_job_id: str | None
    error_data: dict[str, str] | None
    user: str
    context: str | None
    source: str


class Mapping(TypedDict):
    """Which credential a backend needs and which adapter calls its provider."""

    credential: str
    adapter: str


class JobBook(Protocol):
    """Where the runner reads jobs and records their progress."""

    def get(self, user: str, job_id: str) -> Job:
        """A job of the user."""
        ...

    def update(self, user: str, job_id: str, **changes: Any) -> None:
        """Record changes to a job (a cancelled job stays cancelled)."""
        ...


class BundledRunner:
    """Runs jobs in background threads with the runner's own Vault token."""

    def __init__(
        self,
        grants: RuntimeGrants,
        vault: VaultClient,
        identify: Callable[[str], str],
        *,
        threads: int,
        provider_urls: dict[str, str],
    ) -> None:
        self.grants = grants
        self.vault = vault
        self.identify = identify  # the runner's accessor, checked as any runner's token is
        self.threads = threads
        self.provider_urls = provider_urls
        self._pool: ThreadPoolExecutor | None = None

    def dispatch(self, book: JobBook, user: str, job_id: str, grant: str, mapping: Mapping) -> None:
        """Run the job in the background."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.threads, thread_name_prefix="vault-bridge-runner"
            )
        self._pool.submit(self._run, book, user, job_id, grant, mapping)

    def _run(self, book: JobBook, user: str, job_id: str, grant: str, mapping: Mapping) -> None:
        try:
            book.update(user, job_id, status="RUNNING", started_at=iso(now_utc()))
            redeemed = self.grants.redeem(grant, self.identify(self.vault.token))
            credential = credential_from(redeemed, unwrap(self.vault, redeemed["wrap_token"]))
            provider = self.grants.catalog.providers[mapping["credential"]]
            adapter = ADAPTERS[mapping["adapter"]](
                self.provider_urls.get(provider.id), provider.api_hosts
            )
            outcome = adapter.run(credential.fields, book.get(user, job_id))
            if book.get(user, job_id)["status"] == "CANCELLED":
                return
            book.update(
                user,
                job_id,
                status="COMPLETED",
                ended_at=iso(now_utc()),
                result={"histogram": outcome["histogram"]},
                provider_job_id=outcome.get("provider_job_id"),
            )
        except VaultBridgeError as exc:
            book.update(
                user,
                job_id,
                status="FAILED",
                ended_at=iso(now_utc()),
                error_data={"code": exc.code, "message": exc.message},
            )
        except Exception as exc:  # a runner thread must never die silently
            log.error("job %s failed: %s", job_id, type(exc).__name__)
            book.update(
                user,
                job_id,
                status="FAILED",
                ended_at=iso(now_utc()),
                error_data={"code": "runner_error", "message": "the job runner failed"},
            )

    def close(self) -> None:
        """Stop taking jobs; running ones finish."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
