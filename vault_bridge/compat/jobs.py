"""Jobs of the reference ``/quantum`` surface: kept in Vault KV, run by a bundled job runner.

The bundled runner is a small thread pool with its own Vault identity (AppRole
vault-bridge-runner): for each job it redeems the job's run-time grant, unwraps the credential at
Vault itself, calls the provider through an adapter, and stores the result.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

from vault_bridge.audit import AuditLog
from vault_bridge.config import Settings
from vault_bridge.errors import BadRequest, NotFound, ServiceUnavailable, VaultBridgeError
from vault_bridge.runtime.adapters import ADAPTERS
from vault_bridge.runtime.client import credential_from, unwrap
from vault_bridge.runtime.grants import RuntimeGrants
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.kv import KV
from vault_bridge.vault.records import job_path, jobs_folder

log = logging.getLogger(__name__)
JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "ABORTED"}
PUBLIC = (
    "id",
    "provider",
    "backend_id",
    "shots",
    "input_format",
    "input_params",
    "sdk_provider",
    "provider_job_id",
    "name",
    "tags",
    "created_at",
    "started_at",
    "ended_at",
    "error_data",
    "status",
)


@functools.cache
def load_backends() -> dict[str, dict[str, Any]]:
    """The backends served, by id (from ``backends.json``)."""
    text = resources.files("vault_bridge.compat").joinpath("backends.json").read_text()
    return {b["id"]: b for b in json.loads(text)["backends"]}


def public_backend(backend: dict[str, Any]) -> dict[str, Any]:
    """A backend as clients see it (without vault-bridge's own mapping)."""
    return {k: v for k, v in backend.items() if k != "vault_bridge"}


def check_job_uuid(value: str) -> str:
    """A job id as this surface issues them (a UUID)."""
    if not JOB_ID.fullmatch(value):
        raise NotFound(f"job {value[:40]} not found", code="job_not_found")
    return value


class Jobs:
    """Submit, read, list and cancel jobs; run them with the bundled runner."""

    def __init__(
        self,
        client: VaultClient,
        settings: Settings,
        grants: RuntimeGrants,
        audit: AuditLog,
        runner_vault: VaultClient | None,
    ) -> None:
        self.settings = settings
        self.kv = KV(client, settings.kv_mount)
        self.grants = grants
        self.audit = audit
        self.runner_vault = runner_vault
        self.provider_urls = settings.provider_url_map()
        self._pool: ThreadPoolExecutor | None = None

    def _path(self, user: str, job_id: str) -> str:
        return job_path(user, job_id)

    def submit(self, user: str, context: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """Validate, take a run-time grant (checks the credential exists now), store, dispatch."""
        if self.runner_vault is None:
            raise ServiceUnavailable("no job runner is configured", code="no_runner")
        backend = load_backends().get(str(body.get("backend_id")))
        if backend is None:
            raise NotFound(
                f"backend {str(body.get('backend_id'))[:60]} not found", code="backend_not_found"
            )
        shots = body.get("shots", 1)
        limits = backend["configuration"]["shots_range"]
        if not isinstance(shots, int) or not limits["min"] <= shots <= limits["max"]:
            raise BadRequest(f"shots must be {limits['min']}-{limits['max']}", code="invalid_shots")
        job_input = body.get("input")
        if not isinstance(job_input, dict) or not isinstance(job_input.get("qubits"), int):
            raise BadRequest("input must be an IonQ circuit with 'qubits'", code="invalid_input")
        if body.get("input_format") not in backend["configuration"]["supported_input_formats"]:
            raise BadRequest("unsupported input_format", code="invalid_input")
        job_id = str(uuid.uuid4())
        mapping = backend["vault_bridge"]
        grant = self.grants.issue(user, context, mapping["credential"], job_id)
        params = dict(body.get("input_params") or {})
        params["qubits"] = job_input["qubits"]
        tags = body.get("tags") if isinstance(body.get("tags"), list) else []
        job = {
            "id": job_id,
            "provider": backend["provider"],
            "backend_id": backend["id"],
            "shots": shots,
            "input": job_input,
            "input_format": body["input_format"],
            "input_params": params,
            "sdk_provider": body.get("sdk_provider"),
            "name": body.get("name") if isinstance(body.get("name"), str) else None,
            "tags": [str(t) for t in tags][:20],
            "status": "PENDING",
            "created_at": iso(now_utc()),
            "started_at": None,
            "ended_at": None,
            "provider_job_id": None,
            "error_data": None,
            "user": user,
            "context": context,
            "source": grant["source"],
        }
        self.kv.write(self._path(user, job_id), job, cas=0)
        self._executor().submit(self._run, user, job_id, grant["grant"], mapping)
        return job

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.settings.runner_threads, thread_name_prefix="vault-bridge-runner"
            )
        return self._pool

    def _run(self, user: str, job_id: str, grant: str, mapping: dict[str, str]) -> None:
        """The bundled runner: redeem, unwrap at Vault, call the provider, store the result."""
        assert self.runner_vault is not None
        try:
            self._update(user, job_id, status="RUNNING", started_at=iso(now_utc()))
            redeemed = self.grants.redeem(grant, self.runner_vault.token)
            credential = credential_from(
                redeemed, unwrap(self.runner_vault, redeemed["wrap_token"])
            )
            adapter = ADAPTERS[mapping["adapter"]](self.provider_urls.get(mapping["credential"]))
            job = self.get(user, job_id)
            outcome = adapter.run(credential.fields, job)
            if self.get(user, job_id)["status"] == "CANCELLED":
                return
            self._update(
                user,
                job_id,
                status="COMPLETED",
                ended_at=iso(now_utc()),
                result={"histogram": outcome["histogram"]},
                provider_job_id=outcome.get("provider_job_id"),
            )
        except VaultBridgeError as exc:
            self._update(
                user,
                job_id,
                status="FAILED",
                ended_at=iso(now_utc()),
                error_data={"code": exc.code, "message": exc.message},
            )
        except Exception as exc:  # a runner thread must never die silently
            log.error("job %s failed: %s", job_id, type(exc).__name__)
            self._update(
                user,
                job_id,
                status="FAILED",
                ended_at=iso(now_utc()),
                error_data={"code": "runner_error", "message": "the job runner failed"},
            )

    def _update(self, user: str, job_id: str, **changes: Any) -> None:
        secret = self.kv.read(self._path(user, job_id))
        if secret is None:
            return
        if secret.data.get("status") == "CANCELLED" and changes.get("status") != "CANCELLED":
            return
        self.kv.write(self._path(user, job_id), {**secret.data, **changes})

    def get(self, user: str, job_id: str) -> dict[str, Any]:
        """A job of the user (404 for anyone else's)."""
        check_job_uuid(job_id)
        secret = self.kv.read(self._path(user, job_id))
        if secret is None:
            raise NotFound(f"job {job_id} not found", code="job_not_found")
        return secret.data

    def list(self, user: str, context: str | None) -> list[dict[str, Any]]:
        """The user's jobs in the given context, newest first."""
        jobs = []
        for key in self.kv.list(jobs_folder(user)):
            secret = self.kv.read(self._path(user, key))
            if secret is not None and secret.data.get("context") == context:
                jobs.append(secret.data)
        return sorted(jobs, key=lambda j: j["created_at"], reverse=True)

    def cancel(self, user: str, job_id: str) -> None:
        """Cancel a job that has not finished."""
        job = self.get(user, job_id)
        if job["status"] not in FINAL:
            self._update(user, job_id, status="CANCELLED", ended_at=iso(now_utc()))

    def close(self) -> None:
        """Stop taking jobs; running ones finish."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the SDK's JobDto expects it."""
    return {key: job.get(key) for key in PUBLIC}
