"""Idempotency's timed work: forget stored answers once their retention has passed."""

from __future__ import annotations

from backend.idempotency import service
from backend.jobs import Counts, JobRun, job


@job("idempotency.purge_expired", counts=("purged",), stage="purge")
def purge_expired(run: JobRun) -> Counts:
    """Delete idempotency records older than their retention."""
    return {"purged": service.purge_expired(now=run.now)}
