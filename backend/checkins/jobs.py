"""Check-ins' timed work: close what expired, remind who has not answered.

Opening scheduled check-ins is the tick's own first step (backend/scheduling/jobs.py): it
claims due schedules, and the schedules are the scheduling domain's.
"""

from __future__ import annotations

from backend.checkins import service
from backend.jobs import Counts, JobRun, job

# At most this many per tick; a larger backlog continues at the next tick.
PER_TICK = 10_000


@job("checkins.close_expired", counts=("expired",))
def close_expired(run: JobRun) -> Counts:
    """Close open check-ins whose window ended; note who did not answer."""
    return {"expired": service.close_expired(now=run.now, limit=PER_TICK)}


@job("checkins.send_reminders", counts=("reminded",))
def send_reminders(run: JobRun) -> Counts:
    """Remind each partner who has not answered, once per check-in."""
    return {"reminded": service.send_reminders(now=run.now, limit=PER_TICK)}
