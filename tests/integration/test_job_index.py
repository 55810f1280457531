"""Listing /quantum jobs: a few Vault reads per page whatever the number of jobs, jobs of earlier
versions indexed on first use, status changes seen in the listing."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.helpers import unique_id
from vault_bridge.compat.models import Job as JobModel
from vault_bridge.runtime.jobs import PUBLIC_FIELDS
from vault_bridge.services import Services
from vault_bridge.vault.names import job_path


def _job(user: str, context: str | None, created: dt.datetime) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "provider": "AZURE",
        "backend_id": "azure.ionq.simulator",
        "shots": 10,
        "input": {"qubits": 1, "circuit": []},
        "input_format": "IONQ_CIRCUIT_V1",
        "input_params": {"qubits": 1},
        "sdk_provider": None,
        "name": None,
        "tags": [],
        "status": "COMPLETED",
        "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "started_at": None,
        "ended_at": None,
        "provider_job_id": None,
        "error_data": None,
        "user": user,
        "context": context,
        "source": "user",
    }


def test_the_index_keeps_exactly_the_public_fields() -> None:
    assert set(PUBLIC_FIELDS) == set(JobModel.model_fields)


def test_jobs_of_an_earlier_version_are_indexed_then_listed_in_a_few_reads(
    admin: Services,
) -> None:
    user, org = unique_id("jobs"), unique_id("org")
    jobs = admin.jobs
    start = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    written = []
    for i in range(120):  # spread over two days, two contexts
        job = _job(user, org if i % 3 == 0 else None, start + dt.timedelta(minutes=14 * i))
        jobs.kv.write(job_path(user, job["id"]), job, cas=0)  # as an earlier version stored it
        written.append(job)
    personal = sorted(
        (j for j in written if j["context"] is None), key=lambda j: j["created_at"], reverse=True
    )
    try:
        first, total = jobs.page(user, None, 0, 10)  # indexes everything once
        assert total == len(personal) == 80
        assert [j["id"] for j in first] == [j["id"] for j in personal[:10]]
        assert "input" not in first[0] and "user" not in first[0]

        before = admin.client.calls
        middle, total = jobs.page(user, None, 3, 10)
        assert admin.client.calls - before <= 4  # the head and the buckets the page covers
        assert [j["id"] for j in middle] == [j["id"] for j in personal[30:40]]
        last, _ = jobs.page(user, None, 7, 10)
        assert [j["id"] for j in last] == [j["id"] for j in personal[70:]]

        in_org, total_org = jobs.page(user, org, 0, 100)
        assert total_org == 40 and all(j["id"] not in {p["id"] for p in personal} for j in in_org)

        jobs.update(user, personal[0]["id"], status="CANCELLED")
        again, _ = jobs.page(user, None, 0, 1)
        assert again[0]["id"] == personal[0]["id"] and again[0]["status"] == "CANCELLED"

        before = admin.client.calls
        assert jobs.page(user, unique_id("none"), 0, 10) == ([], 0)  # no index, no walk
        assert admin.client.calls - before <= 2
    finally:
        jobs.kv.destroy_tree(f"users/{user}")


def test_a_full_day_spills_into_hours_and_minutes_in_order(admin: Services, monkeypatch) -> None:
    from vault_bridge.vault import job_index

    monkeypatch.setattr(job_index, "BUCKET_MAX", 4)
    user = unique_id("busy")
    start = dt.datetime(2026, 5, 2, 9, tzinfo=dt.UTC)
    jobs = [_job(user, None, start + dt.timedelta(seconds=20 * i)) for i in range(14)]
    try:
        used = [admin.jobs.index.add(user, None, job) for job in jobs]
        assert used[:4] == ["20260502"] * 4 and used[4:8] == ["2026050209"] * 4
        assert set(used[8:]) <= {"202605020902", "202605020903", "202605020904"}
        assert admin.jobs.index.add(user, None, jobs[0]) == "20260502"  # already there: no change
        page, total = admin.jobs.page(user, None, 0, 14)
        assert total == 14
        assert [j["id"] for j in page] == [j["id"] for j in reversed(jobs)]
    finally:
        admin.jobs.kv.destroy_tree(f"users/{user}")
