"""Counseling's timed work: remind partners of an exercise the day before it is due."""

from __future__ import annotations

from backend.counseling import service
from backend.jobs import Counts, JobRun, job


@job("counseling.remind_due_exercises", counts=("exercise_reminders",))
def remind_due_exercises(run: JobRun) -> Counts:
    """Remind each partner once, the day before an exercise is due."""
    return {"exercise_reminders": service.remind_due_exercises(now=run.now)}
