"""Accounts' timed work: purge sessions that can no longer be refreshed, and old activity."""

from __future__ import annotations

from backend.accounts import activity, service
from backend.jobs import Counts, JobRun, job


@job("accounts.purge_expired_sessions", counts=("purged",), stage="purge")
def purge_expired_sessions(run: JobRun) -> Counts:
    """Delete sessions (and their refresh tokens) whose last refresh token has expired."""
    return {"purged": service.purge_expired_sessions(now=run.now)}


@job("accounts.purge_old_activity", counts=("purged",), stage="purge")
def purge_old_activity(run: JobRun) -> Counts:
    """Delete account activity older than its retention."""
    return {"purged": activity.purge_old(now=run.now)}
