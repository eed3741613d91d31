"""The tick: the one scheduled job. It opens due check-ins exactly once, closes expired ones,
sends reminders and purges what has expired.

Exactly once, with any number of scheduler processes and any crash:
- each batch of due schedules is claimed with `SELECT ... FOR UPDATE SKIP LOCKED` on
  PostgreSQL, so two processes never work on the same schedule at the same time;
- on SQLite (one writer at a time; SQLAlchemy silently drops SKIP LOCKED there) the guard is
  the unique key (schedule_id, due_at) on check-ins: a second process that read the same
  schedule before the first committed fails that insert and skips the schedule;
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
from backend.accounts import service as accounts
from backend.checkins import service as checkins
from backend.couples.models import Couple
from backend.errors import DomainError
from backend.extensions import db
from backend.idempotency import service as idempotency
from backend.scheduling.models import Schedule
from backend.scheduling.rules import next_occurrence
from backend.scheduling.service import rule_of

log = logging.getLogger(__name__)
# However long a scheduler was down, one claim catches up at most this many occurrences of a
# schedule; the rest follow on the next batch.
MAX_OCCURRENCES_PER_CLAIM = 1000


@dataclass
class TickReport:
    """What one tick did."""

    opened: int = 0
    missed: int = 0
    expired: int = 0
    reminded: int = 0
    purged: int = 0
    batches: int = 0


def _skip_locked() -> bool:
    return db.engine.dialect.name == "postgresql"


def claim_due_schedules(*, now: datetime, limit: int) -> list[Schedule]:
    """Lock a batch of due schedules for this process (PostgreSQL skips rows others hold)."""
    statement = (
        sa.select(Schedule)
        .where(Schedule.status == "active", Schedule.paused.is_(False), Schedule.next_due_at <= now)
        .order_by(Schedule.next_due_at)
        .limit(limit)
    )
    if _skip_locked():
        statement = statement.with_for_update(skip_locked=True, of=Schedule)
    return list(db.session.scalars(statement))


def fire_occurrences(
    schedule: Schedule, couple: Couple, *, now: datetime, cache: dict
) -> tuple[int, int]:
    """Open (or record as missed) every occurrence of `schedule` due by `now`; advance it."""
    rule = rule_of(schedule, couple)
    window = timedelta(hours=schedule.window_hours)
    reminder = schedule.reminder_hours_before_close
    due = schedule.next_due_at
    opened = missed = 0
    while due <= now and opened + missed < MAX_OCCURRENCES_PER_CLAIM:
        closes_at = due + window
        if closes_at > now:
            checkins.open_checkin(
                couple=couple,
                prompt_set_key=schedule.prompt_set_key,
                source="scheduled",
                closes_at=closes_at,
                remind_at=closes_at - timedelta(hours=reminder) if reminder else None,
                schedule_id=schedule.id,
                due_at=due,
                commit=False,
                cache=cache,
            )
            opened += 1
        else:
            checkins.record_missed_occurrence(
                couple=couple,
                prompt_set_key=schedule.prompt_set_key,
                schedule_id=schedule.id,
                due_at=due,
                closes_at=closes_at,
            )
            missed += 1
        due = next_occurrence(rule, due)
    schedule.next_due_at = due
    return opened, missed


def run_due_batch(*, now: datetime, limit: int, cache: dict) -> tuple[int, int, int]:
    """Claim one batch and fire it in one transaction. Returns (claimed, opened, missed)."""
    schedules = claim_due_schedules(now=now, limit=limit)
    if not schedules:
        db.session.commit()
        return 0, 0, 0
    couples = {
        c.id: c
        for c in db.session.scalars(
            sa.select(Couple).where(Couple.id.in_({s.couple_id for s in schedules}))
        )
    }
    opened = missed = 0
    for schedule in schedules:
        try:
            with db.session.begin_nested():
                o, m = fire_occurrences(schedule, couples[schedule.couple_id], now=now, cache=cache)
        except sa.exc.IntegrityError:
            # Another process opened this occurrence first (SQLite's guard); nothing doubled.
            log.info("schedule %s already fired by another process", schedule.id)
            continue
        except DomainError as exc:
            # The prompt set is gone or the couple ended meanwhile: stop this schedule.
            log.warning("schedule %s stopped: %s", schedule.id, exc.detail)
            schedule.status = "stopped"
            continue
        opened += o
        missed += m
    db.session.commit()
    return len(schedules), opened, missed


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
        report.opened += opened
        report.missed += missed
    if stop is not None and stop.is_set():
        return report
    report.expired = checkins.close_expired(now=now, limit=10_000, skip_locked=_skip_locked())
    db.session.commit()
    report.reminded = checkins.send_reminders(now=now, limit=10_000)
    db.session.commit()
    report.purged = accounts.purge_expired_sessions(now=now) + idempotency.purge_expired(now=now)
    return report
