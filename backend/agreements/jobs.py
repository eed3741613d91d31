"""Agreements' timed work: end those past their end date, then tell of reviews that are due.

In this order: an agreement that ends today gets no review reminder.
"""

from __future__ import annotations

from backend.agreements import service
from backend.jobs import Counts, JobRun, job


@job("agreements.end_due", counts=("agreements_ended",))
def end_due(run: JobRun) -> Counts:
    """End agreements past their end date, where the couple lives; both are told."""
    return {"agreements_ended": service.end_due_agreements(now=run.now)}


@job("agreements.send_review_reminders", counts=("reviews",))
def send_review_reminders(run: JobRun) -> Counts:
    """On an agreement's or item's review date, tell both partners once."""
    return {"reviews": service.send_review_reminders(now=run.now)}
