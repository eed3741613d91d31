"""The tick: the one scheduled job. It opens due check-ins exactly once, closes expired ones,
sends reminders and purges what has expired.

Exactly once, with any number of scheduler processes and any crash:
- each batch of due schedules is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` on
  PostgreSQL, so two processes never work on the same schedule at the same time;
- on SQLite (SQLAlchemy silently drops SKIP LOCKED there) the batch first takes SQLite's
  single write lock (database.lock_rows), so one process at a time claims and fires;
- the unique key (schedule_id, due_at) on check-ins is the last guard on both: a duplicate
  occurrence rolls the whole batch back;
- a batch is one transaction: a process killed mid-batch leaves nothing half-done, and the
  next tick finds the same schedules still due.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend import clock
from backend.accounts import activity
from backend.accounts import service as accounts
from backend.agreements import service as agreements
from backend.checkins import service as checkins
from backend.conversations import service as conversations
from backend.counseling import service as counseling
from backend.couples.models import Couple, CoupleMember
from backend.database import lock_rows
from backend.errors import DomainError
from backend.extensions import db
from backend.idempotency import service as idempotency
from backend.measures import jobs as measure_jobs
from backend.metrics import counts_ticks
from backend.notifications import delivery as push
from backend.scheduling import service as schedules_service
from backend.scheduling.models import Schedule
from backend.scheduling.rules import next_occurrence
from backend.scheduling.service import rule_in

log = logging.getLogger(__name__)
# However long a scheduler was down, one claim catches up at most this many occurrences of a
# schedule; the rest follow on the next batch.
MAX_OCCURRENCES_PER_CLAIM = 1000


@dataclass
class TickReport:
    """What one tick did."""

    claimed: int = 0
    opened: int = 0
    missed: int = 0
    expired: int = 0
    reminded: int = 0
    agreements_ended: int = 0
    reviews: int = 0
    pause_prompts: int = 0
    exercise_reminders: int = 0
    measures_opened: int = 0
    measure_reminders: int = 0
    pushed: int = 0
    push_retries: int = 0
    push_failures: int = 0
    purged: int = 0
    batches: int = 0


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


def _couples_of(schedules: list[Schedule]) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """couple id -> (status, time zone, member ids), in two light queries."""
    ids = {s.couple_id for s in schedules}
    members: dict[str, list[str]] = {}
    for couple_id, user_id in db.session.execute(
        sa.select(CoupleMember.couple_id, CoupleMember.user_id)
        .where(CoupleMember.couple_id.in_(ids))
        .order_by(CoupleMember.joined_at, CoupleMember.id)
    ):
        members.setdefault(couple_id, []).append(user_id)
    return {
        couple_id: (status, timezone, tuple(members.get(couple_id, ())))
        for couple_id, status, timezone in db.session.execute(
            sa.select(Couple.id, Couple.status, Couple.timezone).where(Couple.id.in_(ids))
        )
    }


def run_due_batch(*, now: datetime, limit: int, cache: dict) -> tuple[int, int, int]:
    """Claim one batch and fire it in one transaction. Returns (claimed, opened, missed)."""
    schedules = claim_due_schedules(now=now, limit=limit)
    if not schedules:
        db.session.commit()
        return 0, 0, 0
    couples = _couples_of(schedules)
    openings: list[checkins.Opening] = []
    moves: list[dict] = []
    stopped: list[Schedule] = []
    for schedule in schedules:
        status, timezone, member_ids = couples[schedule.couple_id]
        try:
            checkins.snapshot_prompt_set(schedule.prompt_set_key, cache)
        except DomainError as exc:
            status = "stopped"
            log.warning("schedule %s stopped: %s", schedule.id, exc.detail)
        if status != "active":
            moves.append({"id": schedule.id, "status": "stopped"})
            if status == "stopped":  # the couple is active, the prompt set is gone
                stopped.append(schedule)
            continue
        due, next_due_at = due_occurrences(schedule, timezone, now=now)
        moves.append({"id": schedule.id, "next_due_at": next_due_at})
        window = timedelta(hours=schedule.window_hours)
        reminder = schedule.reminder_hours_before_close
        for due_at in due:
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
    db.session.execute(sa.update(Schedule), moves)
    checkins.open_checkins(openings, cache=cache)
    for schedule in stopped:
        schedules_service.tell_stopped(schedule, couples[schedule.couple_id][2])
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # An occurrence was opened by another process after all (the unique key): nothing of
        # this batch is kept, and the next tick claims afresh.
        db.session.rollback()
        log.warning("batch of %d schedules rolled back on a duplicate occurrence", len(schedules))
        return len(schedules), 0, 0
    missed = sum(o.missed for o in openings)
    return len(schedules), len(openings) - missed, missed


@counts_ticks
def tick(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    stop: threading.Event | None = None,
) -> TickReport:
    """Run every scheduled duty once. Between batches it honours `stop` (SIGTERM)."""
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
    report.expired = checkins.close_expired(now=now, limit=10_000)
    db.session.commit()
    report.reminded = checkins.send_reminders(now=now, limit=10_000)
    db.session.commit()
    report.agreements_ended = agreements.end_due_agreements(now=now)
    report.reviews = agreements.send_review_reminders(now=now)
    report.pause_prompts = conversations.prompt_long_pauses(now=now)
    report.exercise_reminders = counseling.remind_due_exercises(now=now)
    db.session.commit()
    measured = measure_jobs.run(now=now, stop=stop)
    report.measures_opened, report.measure_reminders = measured.opened, measured.reminded
    for _ in range(50):  # bounded: a huge backlog continues at the next tick
        delivery = push.deliver_due(now=now)
        report.pushed += delivery.delivered
        report.push_retries += delivery.retried
        report.push_failures += delivery.failed
        if not (delivery.delivered + delivery.retried + delivery.failed + delivery.skipped):
            break
    report.purged = (
        accounts.purge_expired_sessions(now=now)
        + idempotency.purge_expired(now=now)
        + activity.purge_old(now=now)
    )
    return report
