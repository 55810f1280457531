"""Public revocation of leaked credentials by value: ``/api/v1/credentials``."""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from vault_bridge.api.models import REPORTED_TOKEN_MAX, Error, ReportAccepted, RevocationReport
from vault_bridge.api.spec import PUBLIC, body, operation
from vault_bridge.services import current_services
from vault_bridge.tokens.reports import REPORT_MAX

bp = Blueprint("credentials", __name__, url_prefix="/api/v1/credentials")

# A full report of the longest tokens, JSON-quoted and comma-separated, plus the object around it.
REPORT_BODY_MAX = REPORT_MAX * (REPORTED_TOKEN_MAX + 4) + 1024


@bp.before_request
def _room_for_a_full_report() -> None:
    request.max_content_length = REPORT_BODY_MAX


@bp.post("/revoke")
@operation(
    ok={202: ReportAccepted},
    errors=(400, 413, 429),
    error_model=Error,
    security=PUBLIC,
    tags=("personal access tokens",),
    json=RevocationReport,
)
def revoke() -> tuple[Response, int]:
    """Report leaked PATs by value; no authentication. Each token whose signature verifies is
    revoked (on every replica within the revocation bound) and its owner is told. The answer is
    202 with the count received, the same whatever the tokens were; rate-limited per client
    address (429 with Retry-After)."""
    report = body(RevocationReport)
    accepted = current_services().tokens.reports.submit(
        report.tokens, request.remote_addr or "unknown", g.get("request_id")
    )
    response = jsonify({"accepted": accepted})
    response.headers["Cache-Control"] = "no-store"
    return response, 202
