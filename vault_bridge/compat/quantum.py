"""``/quantum``: a reference surface for the unmodified ``planqk-quantum`` SDK.

JSON is snake_case; errors carry ``error``, ``error_message``, ``detail`` and ``status``, which is
what the SDK reads. Job submission needs a PAT with ``api`` and ``quantum_tokens``; the job's
credential is chosen by the request's context (X-OrganizationId) through a run-time grant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from flask import Blueprint, Response, jsonify
from pydantic import BaseModel

from vault_bridge import scopes
from vault_bridge.api.models import ContextHeaders
from vault_bridge.api.spec import ANY_AUTH, ANY_AUTH_CHANGE, body, operation, query
from vault_bridge.auth import current_principal, require
from vault_bridge.compat.models import (
    Backend,
    Backends,
    BackendState,
    Job,
    JobPage,
    JobPageQuery,
    JobResult,
    JobState,
    QuantumError,
    SubmitJob,
)
from vault_bridge.errors import NotFound, VaultBridgeError, error_headers
from vault_bridge.runtime.jobs import BackendRecord, JobRequest, find_backend, load_backends
from vault_bridge.runtime.runner import Job as JobRecord
from vault_bridge.services import current_services

bp = Blueprint("quantum", __name__, url_prefix="/quantum")
P = ParamSpec("P")
R = TypeVar("R")
PUBLIC = tuple(Job.model_fields)  # what the SDK's JobDto holds; the rest stays inside


def public_backend(backend: BackendRecord) -> dict[str, Any]:
    """A backend as clients see it (without vault-bridge's own mapping)."""
    return {k: v for k, v in backend.items() if k != "vault_bridge"}


def public_job(job: JobRecord) -> dict[str, Any]:
    """A job as the SDK's JobDto expects it."""
    return {key: job.get(key) for key in PUBLIC}


def job_request(submitted: SubmitJob) -> JobRequest:
    """The validated submission as the job store takes it."""
    return JobRequest(
        backend_id=submitted.backend_id,
        shots=submitted.shots,
        input=submitted.input.model_dump(),
        qubits=submitted.input.qubits,
        input_format=submitted.input_format,
        input_params=submitted.input_params or {},
        sdk_provider=submitted.sdk_provider,
        name=submitted.name,
        tags=tuple(submitted.tags or ()),
    )


@bp.errorhandler(VaultBridgeError)
def sdk_error(exc: VaultBridgeError) -> tuple[Response, int]:
    """The error shape the SDK understands."""
    body = {
        "error": exc.code,
        "error_message": exc.message,
        "detail": exc.message,
        "status": exc.status,
    }
    response = jsonify(body)
    response.headers.update(error_headers(exc))
    return response, exc.status


def _operation(
    ok: dict[int, type[BaseModel] | None],
    *,
    change: bool = False,
    json: type[BaseModel] | None = None,
    query_model: type[BaseModel] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return operation(
        ok=ok,
        errors=(400, 401, 403, 404, 409, 503) if change else (400, 401, 403, 404, 503),
        error_model=QuantumError,
        security=ANY_AUTH_CHANGE if change else ANY_AUTH,
        tags=("PLANQK Quantum SDK",),
        json=json,
        query=query_model,
        headers=ContextHeaders,
    )


@bp.get("/backends")
@require()
@_operation({200: Backends})
def list_backends() -> Response:
    """Every backend (the SDK drops D-Wave entries itself)."""
    return jsonify([public_backend(b) for b in load_backends().values()])


@bp.get("/backends/<backend_id>")
@require()
@_operation({200: Backend})
def get_backend(backend_id: str) -> Response:
    """One backend."""
    return jsonify(public_backend(find_backend(backend_id)))


@bp.get("/backends/<backend_id>/status")
@require()
@_operation({200: BackendState})
def backend_status(backend_id: str) -> Response:
    """Status, and whether the caller's context has a credential for the backend's provider."""
    backend = find_backend(backend_id)
    principal = current_principal()
    try:
        current_services().grants.resolve(
            principal.user.id, principal.org, backend["vault_bridge"]["credential"]
        )
        valid = True
    except NotFound:
        valid = False
    return jsonify(
        {
            "status": backend["status"],
            "queue_avg_time": 0,
            "queue_size": 0,
            "provider_token_valid": valid,
        }
    )


@bp.post("/jobs")
@require(scopes=scopes.RUN_JOBS)
@_operation({200: Job}, change=True, json=SubmitJob)
def submit_job() -> Response:
    """Submit a job: every field is checked first, then a grant is taken; the bundled runner
    does the rest."""
    principal = current_principal()
    submitted = job_request(body(SubmitJob))
    job = current_services().jobs.submit(principal.user, principal.org, submitted)
    return jsonify(public_job(job))


@bp.get("/jobs")
@require()
@_operation({200: JobPage}, query_model=JobPageQuery)
def list_jobs() -> Response:
    """The caller's jobs in the current context, as a page."""
    principal = current_principal()
    wanted = query(JobPageQuery)
    page, size = wanted.page, wanted.size
    jobs, total = current_services().jobs.page(principal.user.id, principal.org, page, size)
    return jsonify(
        {
            "content": [{key: job.get(key) for key in PUBLIC} for job in jobs],
            "page": page,
            "size": size,
            "total_elements": total,
            "total_pages": max(1, -(-total // size)),
            "last": (page + 1) * size >= total,
        }
    )


@bp.get("/jobs/<job_id>")
@require()
@_operation({200: Job})
def get_job(job_id: str) -> Response:
    """One job."""
    return jsonify(public_job(current_services().jobs.get(current_principal().user.id, job_id)))


@bp.get("/jobs/<job_id>/status")
@require()
@_operation({200: JobState})
def job_status(job_id: str) -> Response:
    """``{"status": ...}`` with one of the SDK's status names."""
    job = current_services().jobs.get(current_principal().user.id, job_id)
    return jsonify({"status": job["status"]})


@bp.get("/jobs/<job_id>/result")
@require()
@_operation({200: JobResult})
def job_result(job_id: str) -> Response:
    """The result of a completed job; the error of a failed one."""
    job = current_services().jobs.get(current_principal().user.id, job_id)
    stored = dict(job)
    if job["status"] == "COMPLETED":
        return jsonify(stored["result"])
    if job["status"] == "FAILED":
        return jsonify(job["error_data"] or {"code": "failed", "message": "the job failed"})
    raise NotFound(f"job {job_id} has no result yet (status {job['status']})", code="no_result")


@bp.delete("/jobs/<job_id>")
@require()
@_operation({204: None}, change=True)
def cancel_job(job_id: str) -> tuple[str, int]:
    """Cancel a job that has not finished."""
    current_services().jobs.cancel(current_principal().user.id, job_id)
    return "", 204
