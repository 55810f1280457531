"""``/quantum``: a reference surface for the unmodified ``planqk-quantum`` SDK.

JSON is snake_case; errors carry ``error``, ``error_message``, ``detail`` and ``status``, which is
what the SDK reads. Job submission needs a PAT with ``api`` and ``quantum_tokens``; the job's
credential is chosen by the request's context (X-OrganizationId) through a run-time grant.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from vault_bridge.api.auth import authenticate, require, services
from vault_bridge.api.body import json_body
from vault_bridge.compat.jobs import load_backends, public_backend, public_job
from vault_bridge.errors import NotFound, VaultBridgeError

bp = Blueprint("quantum", __name__, url_prefix="/quantum")


@bp.errorhandler(VaultBridgeError)
def sdk_error(exc: VaultBridgeError) -> tuple[Response, int]:
    """The error shape the SDK understands."""
    body = {
        "error": exc.code,
        "error_message": exc.message,
        "detail": exc.message,
        "status": exc.status,
    }
    return jsonify(body), exc.status


def _backend(backend_id: str) -> dict:
    backend = load_backends().get(backend_id)
    if backend is None:
        raise NotFound(f"backend {backend_id[:60]} not found", code="backend_not_found")
    return backend


@bp.get("/backends")
@require()
def list_backends() -> Response:
    """Every backend (the SDK drops D-Wave entries itself)."""
    return jsonify([public_backend(b) for b in load_backends().values()])


@bp.get("/backends/<backend_id>")
@require()
def get_backend(backend_id: str) -> Response:
    """One backend."""
    return jsonify(public_backend(_backend(backend_id)))


@bp.get("/backends/<backend_id>/status")
@require()
def backend_status(backend_id: str) -> Response:
    """Status, and whether the caller's context has a credential for the backend's provider."""
    backend = _backend(backend_id)
    principal = authenticate()
    try:
        services().grants.resolve(
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
@require(scopes=("api", "quantum_tokens"))
def submit_job() -> Response:
    """Submit a job: a grant is taken now, the bundled runner does the rest."""
    principal = authenticate()
    job = services().jobs.submit(principal.user.id, principal.org, json_body())
    return jsonify(public_job(job))


@bp.get("/jobs")
@require()
def list_jobs() -> Response:
    """The caller's jobs in the current context, as a page."""
    principal = authenticate()
    try:
        page = max(0, int(request.args.get("page", 0)))
        size = min(200, max(1, int(request.args.get("size", 50))))
    except ValueError:
        page, size = 0, 50
    jobs = services().jobs.list(principal.user.id, principal.org)
    chunk = jobs[page * size : (page + 1) * size]
    return jsonify(
        {
            "content": [public_job(j) for j in chunk],
            "page": page,
            "size": size,
            "total_elements": len(jobs),
            "total_pages": max(1, -(-len(jobs) // size)),
            "last": (page + 1) * size >= len(jobs),
        }
    )


@bp.get("/jobs/<job_id>")
@require()
def get_job(job_id: str) -> Response:
    """One job."""
    return jsonify(public_job(services().jobs.get(authenticate().user.id, job_id)))


@bp.get("/jobs/<job_id>/status")
@require()
def job_status(job_id: str) -> Response:
    """``{"status": ...}`` with one of the SDK's status names."""
    return jsonify({"status": services().jobs.get(authenticate().user.id, job_id)["status"]})


@bp.get("/jobs/<job_id>/result")
@require()
def job_result(job_id: str) -> Response:
    """The result of a completed job; the error of a failed one."""
    job = services().jobs.get(authenticate().user.id, job_id)
    if job["status"] == "COMPLETED":
        return jsonify(job["result"])
    if job["status"] == "FAILED":
        return jsonify(job.get("error_data") or {"code": "failed", "message": "the job failed"})
    raise NotFound(f"job {job_id} has no result yet (status {job['status']})", code="no_result")


@bp.delete("/jobs/<job_id>")
@require()
def cancel_job(job_id: str) -> tuple[str, int]:
    """Cancel a job that has not finished."""
    services().jobs.cancel(authenticate().user.id, job_id)
    return "", 204
