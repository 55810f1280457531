"""Jobs of the reference ``/quantum`` surface, kept in Vault KV; the bundled runner runs them.

The backends served are data (``backends.json``): the SDK's fields, plus which provider
credential and which adapter a backend's jobs use.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypedDict, cast

from vault_bridge.directory.users import User
from vault_bridge.errors import BadRequest, NotFound, ServiceUnavailable
from vault_bridge.runtime.grants import RuntimeGrants
from vault_bridge.runtime.runner import BundledRunner, Job, Mapping
from vault_bridge.timeutil import iso, now_utc
from vault_bridge.vault.client import VaultClient
from vault_bridge.vault.job_index import JobIndex
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import job_path, jobs_folder

PUBLIC_FIELDS = (
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
PARAMS_MAX = 2048  # bytes of input_params an index entry keeps (else only the qubits)
JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "ABORTED"}


@dataclass(frozen=True)
class JobRequest:
    """A job to run, its fields checked for shape (by the surface's request model)."""

    backend_id: str
    shots: int
    input: dict[str, Any]  # the circuit, with its ``qubits``
    qubits: int
    input_format: str
    input_params: dict[str, Any] = field(default_factory=dict)
    sdk_provider: str | None = None
    name: str | None = None
    tags: tuple[str, ...] = ()


class BackendRecord(TypedDict):
    """A backend as shipped in ``backends.json``: the SDK's fields plus vault-bridge's mapping."""

    id: str
    provider: str
    status: str
    configuration: dict[str, Any]
    vault_bridge: Mapping


@functools.cache
def load_backends() -> dict[str, BackendRecord]:
    """The backends served, by id (from ``backends.json``)."""
    text = resources.files("vault_bridge.runtime").joinpath("backends.json").read_text()
    return {b["id"]: cast(BackendRecord, b) for b in json.loads(text)["backends"]}


def find_backend(backend_id: str) -> BackendRecord:
    """A backend by id; 404 when unknown."""
    backend = load_backends().get(backend_id)
    if backend is None:
        raise NotFound(f"backend {backend_id[:60]} not found", code="backend_not_found")
    return backend


def summary(job: Job) -> dict[str, Any]:
    """What the index keeps of a job: the fields a listing shows (never input or result)."""
    entry: dict[str, Any] = {key: job.get(key) for key in PUBLIC_FIELDS}
    params: dict[str, Any] = entry.get("input_params") or {}
    if len(json.dumps(params)) > PARAMS_MAX:
        entry["input_params"] = {"qubits": params.get("qubits")}
    return entry


class Jobs:
    """Submit, read, list and cancel jobs; the bundled runner executes them."""

    def __init__(
        self,
        client: VaultClient,
        kv_mount: str,
        grants: RuntimeGrants,
        runner: BundledRunner | None,
    ) -> None:
        self.kv = KV(client, kv_mount)
        self.index = JobIndex(self.kv)
        self.grants = grants
        self.runner = runner

    def submit(self, account: User, context: str | None, request: JobRequest) -> Job:
        """Check everything, then take a run-time grant, store the job and dispatch it."""
        user = account.id
        if self.runner is None:
            raise ServiceUnavailable("no job runner is configured", code="no_runner")
        backend = find_backend(request.backend_id)
        configuration = backend["configuration"]
        limits = configuration["shots_range"]
        if not limits["min"] <= request.shots <= limits["max"]:
            raise BadRequest(
                f"shots must be {limits['min']}-{limits['max']}",
                code="invalid_shots",
                field="shots",
            )
        if request.input_format not in configuration["supported_input_formats"]:
            raise BadRequest("unsupported input_format", code="invalid_input", field="input_format")
        job_id = str(uuid.uuid4())
        mapping = backend["vault_bridge"]
        grant = self.grants.issue(account, context, mapping["credential"], job_id)
        job: Job = {
            "id": job_id,
            "provider": backend["provider"],
            "backend_id": backend["id"],
            "shots": request.shots,
            "input": request.input,
            "input_format": request.input_format,
            "input_params": {**request.input_params, "qubits": request.qubits},
            "sdk_provider": request.sdk_provider,
            "name": request.name,
            "tags": list(request.tags),
            "status": "PENDING",
            "created_at": iso(now_utc()) or "",
            "started_at": None,
            "ended_at": None,
            "provider_job_id": None,
            "error_data": None,
            "user": user,
            "context": context,
            "source": grant["source"],
        }
        self.kv.write(job_path(user, job_id), dict(job), cas=0)
        bucket = self.index.add(user, context, summary(job))
        self.kv.write(job_path(user, job_id), {**job, "index_bucket": bucket})
        self.runner.dispatch(self, user, job_id, grant["grant"], mapping)
        return job

    def update(self, user: str, job_id: str, **changes: Any) -> None:
        """Record changes to a job; a cancelled job stays cancelled."""
        secret = self.kv.read(job_path(user, job_id))
        if secret is None:
            return
        if secret.data.get("status") == "CANCELLED" and changes.get("status") != "CANCELLED":
            return
        job = cast(Job, {**secret.data, **changes})
        self.kv.write(job_path(user, job_id), dict(job))
        bucket = secret.data.get("index_bucket")
        if isinstance(bucket, str):
            self.index.replace(user, job.get("context"), bucket, summary(job))

    def get(self, user: str, job_id: str) -> Job:
        """A job of the user (404 for anyone else's)."""
        if not JOB_ID.fullmatch(job_id):
            raise NotFound(f"job {job_id[:40]} not found", code="job_not_found")
        secret = self.kv.read(job_path(user, job_id))
        if secret is None:
            raise NotFound(f"job {job_id} not found", code="job_not_found")
        return cast(Job, secret.data)

    def page(
        self, user: str, context: str | None, page: int, size: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the user's jobs in the given context, newest first (their public
        fields), and how many there are: a few reads whatever the number of jobs."""
        found = self.index.page(user, context, page, size)
        if found is not None:
            return found
        if self.index.indexed(user):
            return [], 0
        self._index_earlier_jobs(user)
        return self.index.page(user, context, page, size) or ([], 0)

    def _index_earlier_jobs(self, user: str) -> None:
        """Index the jobs stored before there was an index (once per user)."""
        for key in self.kv.list(jobs_folder(user)):
            secret = self.kv.read(job_path(user, key))
            if secret is not None and "created_at" in secret.data:
                job = cast(Job, secret.data)
                bucket = self.index.add(user, job.get("context"), summary(job))
                self.kv.write(job_path(user, key), {**secret.data, "index_bucket": bucket})
        self.index.mark_indexed(user)

    def cancel(self, user: str, job_id: str) -> None:
        """Cancel a job that has not finished."""
        job = self.get(user, job_id)
        if job["status"] not in FINAL:
            self.update(user, job_id, status="CANCELLED", ended_at=iso(now_utc()))

    def close(self) -> None:
        """Stop taking jobs; running ones finish."""
        if self.runner is not None:
            self.runner.close()
