"""The index of a user's jobs in one context, so that a page of jobs is a few reads, however many
jobs there are.

Below ``users/<user>/job-index/<personal|orgs/<org>>/``:

- ``head``: ``{"buckets": {"<bucket>": <count>}}``, how many jobs each bucket holds;
- ``<bucket>``: ``{"jobs": {<job id>: <the job's public fields>}}``.

A bucket holds the jobs created on one day (``YYYYMMDD``), at most ``BUCKET_MAX``; once a day's
bucket is full, that day's later jobs go to hourly buckets (``YYYYMMDDHH``), then to buckets of a
minute. The names sort in the order of creation. Both are documents (``vault.documents``). A
page is the head plus the buckets it covers (usually one or two reads); a submission adds to its
bucket and then counts it in the head; a status change rewrites the job's entry in its bucket
(the job's record names it).
"""

from __future__ import annotations

import functools
import heapq
from typing import Any

from vault_bridge.vault.documents import Document, Documents, DocumentTooLarge
from vault_bridge.vault.kv import KV
from vault_bridge.vault.names import job_index_folder, job_index_marker

Summary = dict[str, Any]


BUCKET_MAX = 1000


def buckets_of(created_at: str) -> list[str]:
    """The buckets a job may go to, in order: its day, its hour, its minute."""
    day = created_at[0:4] + created_at[5:7] + created_at[8:10]
    return [day, day + created_at[11:13], day + created_at[11:13] + created_at[14:16]]


class JobIndex:
    """Jobs by context and hour of creation, with counts for paging."""

    def __init__(self, kv: KV) -> None:
        self.documents = Documents(kv)

    def indexed(self, user: str) -> bool:
        """True once every job of the user is indexed (jobs of an earlier version were not)."""
        return self.documents.kv.read(job_index_marker(user)) is not None

    def mark_indexed(self, user: str) -> None:
        """Record that every job of the user is indexed."""
        self.documents.kv.write(job_index_marker(user), {"format": 1})

    def add(self, user: str, context: str | None, summary: Summary) -> str:
        """Index a new job: into the first bucket with room, then counted in the head; returns
        the bucket."""
        folder = job_index_folder(user, context)
        for bucket in buckets_of(summary["created_at"]):
            outcome = self.documents.update(f"{folder}/{bucket}", lambda doc: _add(doc, summary))
            if outcome == "added":
                self.documents.update(f"{folder}/head", functools.partial(_count, bucket=bucket))
            if outcome != "full":
                return bucket
        raise DocumentTooLarge("too many jobs in one minute; try again later")

    def replace(self, user: str, context: str | None, bucket: str, summary: Summary) -> None:
        """Rewrite an indexed job's entry in its bucket (its status changed)."""
        path = f"{job_index_folder(user, context)}/{bucket}"
        self.documents.update(path, lambda doc: _replace(doc, summary))

    def page(
        self, user: str, context: str | None, page: int, size: int
    ) -> tuple[list[Summary], int] | None:
        """Jobs ``page * size`` to ``(page + 1) * size`` newest first, and how many there are;
        None when the context has no index yet."""
        folder = job_index_folder(user, context)
        head = self.documents.read(f"{folder}/head")
        if head is None:
            return None
        hours: dict[str, int] = dict(head.value.get("buckets") or {})
        total = sum(hours.values())
        start, end = page * size, (page + 1) * size
        seen = 0
        found: list[Summary] = []
        for hour in sorted(hours, reverse=True):
            count = hours[hour]
            if seen + count > start and seen < end:
                bucket = self.documents.read(f"{folder}/{hour}")
                jobs = list(((bucket.value.get("jobs") or {}) if bucket else {}).values())
                newest = heapq.nlargest(len(jobs), jobs, key=lambda j: (j["created_at"], j["id"]))
                found.extend(newest[max(0, start - seen) : end - seen])
            seen += count
            if seen >= end:
                break
        return found, total


def _add(doc: Document | None, summary: Summary) -> tuple[Any, str]:
    jobs = dict((doc.value.get("jobs") or {}) if doc else {})
    if summary["id"] in jobs:
        return None, "known"
    if len(jobs) >= BUCKET_MAX:
        return None, "full"
    jobs[summary["id"]] = summary
    return {"jobs": jobs}, "added"


def _replace(doc: Document | None, summary: Summary) -> tuple[Any, None]:
    jobs = dict((doc.value.get("jobs") or {}) if doc else {})
    if summary["id"] not in jobs:
        return None, None  # never indexed: nothing to change
    jobs[summary["id"]] = summary
    return {"jobs": jobs}, None


def _count(doc: Document | None, bucket: str) -> tuple[Any, None]:
    counts = dict((doc.value.get("buckets") or {}) if doc else {})
    counts[bucket] = int(counts.get(bucket, 0)) + 1
    return {"buckets": counts}, None
