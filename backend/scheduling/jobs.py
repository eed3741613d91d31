"""The tick: the one scheduled job. It opens due check-ins exactly once, then runs every
domain's registered jobs (backend/jobs.py): closing, reminding, delivering, purging.

Exactly once, with any number of scheduler processes and any crash:
- each batch of due schedules is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` on
  PostgreSQL, so two processes never work on the same schedule at the same time;
- on SQLite (SQLAlchemy silently drops SKIP LOCKED there) the batch first takes SQLite's
  single write lock (database.lock_rows), so one process at a time claims and fires;
- the unique key (schedule_id, due_at) on check-ins is the last guard on both: a duplicate
  occurrence rolls the whole batch back, and it is fired once more without the occurrences
  that exist (run_due_batch);
- a batch is one transaction (one unit of work): a process killed mid-batch leaves nothing
  half-done, and the next tick finds the same schedules still due.

The schedules are this domain's; the couples and check-ins they need are asked of the couples
and check-ins services. Which other work a tick does is not known here: each domain registers
its own jobs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend import clock
from backend.checkins import service as checkins
from backend.couples import service as couples
from backend.database import lock_rows
from backend.errors import DomainError
from backend.extensions import db
from backend.jobs import BatchCounts, count_names, fire_batch_at_most_twice, run_jobs
from backend.metrics import counts_ticks
from backend.recurrence import next_occurrence
from backend.scheduling import service as schedules_service
from backend.scheduling.models import Schedule
from backend.scheduling.service import rule_in
from backend.unit_of_work import unit_of_work

log = logging.getLogger(__name__)
# However long a scheduler was down, one claim catches up at most this many occurrences of a
# schedule; the rest follow on the next batch.
MAX_OCCURRENCES_PER_CLAIM = 1000


@dataclass
class TickReport:
    """What one tick did: its own claims and check-ins opened, then what the registered jobs
    counted, each readable as an attribute (`report.expired`, `report.purged`)."""

    claimed: int = 0
    opened: int = 0
    missed: int = 0
    batches: int = 0
    # Every registered job's counts, zero until the jobs have run (a stopped tick stays zero).
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(count_names(), 0))

    def __getattr__(self, name: str) -> int:
        counts = self.__dict__.get("counts")
        if counts is not None and name in counts:
            return counts[name]
        raise AttributeError(f"{type(self).__name__!r} has no count {name!r}")


# The schedules a batch moves on or stops, by primary key: the table's UPDATEs, run as one
# executemany each (the ORM's bulk UPDATE would build an "update command" per row first).
_SCHEDULES = Schedule.__table__
_MOVE = (
    sa.update(_SCHEDULES)
    .where(_SCHEDULES.c.id == sa.bindparam("schedule_id"))
    .values(next_due_at=sa.bindparam("next_due"))
)
_STOP = (
    sa.update(_SCHEDULES)
    .where(_SCHEDULES.c.id == sa.bindparam("schedule_id"))
    .values(status="stopped")
)


def claim_due_schedules(*, now: datetime, limit: int) -> list[Schedule]:
    """Lock a batch of due schedules for this process (PostgreSQL skips rows others hold)."""
    statement = (
        sa.select(Schedule)
        # `paused = false` exactly as in the partial index ix_schedules_due, so it is used
        .where(
            Schedule.status == "active", Schedule.paused == sa.false(), Schedule.next_due_at <= now
        )
        .order_by(Schedule.next_due_at)
        .limit(limit)
    )
    return list(lock_rows(statement, Schedule.__table__, db.session, skip_locked=True, of=Schedule))


def due_occurrences(
    schedule: Schedule, couple_timezone: str, *, now: datetime
) -> tuple[list[datetime], datetime]:
    """The occurrences of `schedule` due by `now` (at most a claim's worth), and the next one."""
    rule = rule_in(schedule, couple_timezone)
    due, found = schedule.next_due_at, []
    while due <= now and len(found) < MAX_OCCURRENCES_PER_CLAIM:
        found.append(due)
        due = next_occurrence(rule, due)
    return found, due


def run_due_batch(*, now: datetime, limit: int, cache: dict) -> BatchCounts:
    """Claim one batch and fire it as one unit of work. Returns (claimed, opened, missed).
    An occurrence already opened is left out on a second firing (fire_batch_at_most_twice)."""
    return fire_batch_at_most_twice(
        lambda skip_opened: _fire_batch(now=now, limit=limit, cache=cache, skip_opened=skip_opened),
        what="a batch",
    )


def _fire_batch(*, now: datetime, limit: int, cache: dict, skip_opened: bool) -> BatchCounts:
    """One claimed batch, fired in one unit of work."""
    with unit_of_work():
        schedules = claim_due_schedules(now=now, limit=limit)
        openings = _fire(schedules, now=now, cache=cache, skip_opened=skip_opened)
    missed = sum(o.missed for o in openings)
    return len(schedules), len(openings) - missed, missed


def _fire(
    schedules: list[Schedule], *, now: datetime, cache: dict, skip_opened: bool = False
) -> list[checkins.Opening]:
    """Open the claimed schedules' due check-ins and move each schedule on (or stop it); with
    `skip_opened`, not the occurrences already opened."""
    if not schedules:
        return []
    opened = (
        checkins.scheduled_occurrences(
            [s.id for s in schedules], since=min(s.next_due_at for s in schedules)
        )
        if skip_opened
        else set()
    )
    states = couples.states_of(s.couple_id for s in schedules)
    openings: list[checkins.Opening] = []
    moves: list[dict] = []  # each schedule's next occurrence
    stops: list[dict] = []  # schedules that stop (their couple ended, or their prompt set went)
    stopped: list[Schedule] = []
    for schedule in schedules:
        status, timezone, member_ids = states[schedule.couple_id]
        try:
            checkins.snapshot_prompt_set(schedule.prompt_set_key, cache)
        except DomainError as exc:
            status = "stopped"
            log.warning("schedule %s stopped: %s", schedule.id, exc.detail)
        if status != "active":
            stops.append({"schedule_id": schedule.id})
            if status == "stopped":  # the couple is active, the prompt set is gone
                stopped.append(schedule)
            continue
        due, next_due_at = due_occurrences(schedule, timezone, now=now)
        moves.append({"schedule_id": schedule.id, "next_due": next_due_at})
        window = timedelta(hours=schedule.window_hours)
        reminder = schedule.reminder_hours_before_close
        for due_at in due:
            if (schedule.id, due_at) in opened:
                continue
            closes_at = due_at + window
            openings.append(
                checkins.Opening(
                    couple_id=schedule.couple_id,
                    member_ids=member_ids,
                    prompt_set_key=schedule.prompt_set_key,
                    closes_at=closes_at,
                    source="scheduled",
                    remind_at=closes_at - timedelta(hours=reminder) if reminder else None,
                    schedule_id=schedule.id,
                    due_at=due_at,
                    missed=closes_at <= now,
                )
            )
    if moves:
        db.session.execute(_MOVE, moves)
    if stops:
        db.session.execute(_STOP, stops)
    checkins.open_checkins(openings, cache=cache)
    for schedule in stopped:
        schedules_service.tell_stopped(schedule, states[schedule.couple_id].member_ids)
    return openings


@counts_ticks
def tick(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    stop: threading.Event | None = None,
) -> TickReport:
    """Open what is due, then run every registered job once. Between batches and between
    jobs it honours `stop` (SIGTERM)."""
    now = now or clock.now()
    limit = batch_size or current_app.config["TRUSTLINE_SCHEDULER_BATCH_SIZE"]
    report = TickReport()
    cache: dict = {}
    while stop is None or not stop.is_set():
        claimed, opened, missed = run_due_batch(now=now, limit=limit, cache=cache)
        if not claimed:
            break
        report.batches += 1
        report.claimed += claimed
        report.opened += opened
        report.missed += missed
    if stop is not None and stop.is_set():
        return report
    report.counts = run_jobs(now=now, stop=stop)
    return report
