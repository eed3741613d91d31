"""Measures' timed work: open each assigned occurrence exactly once, remind once, close at
the window's end. Registered with the tick (backend/jobs.py) as three jobs, in this order.

Exactly once, as for check-ins (backend/scheduling/jobs.py): a batch of due partner rows is
claimed with `SELECT ... FOR UPDATE SKIP LOCKED` (SQLite: its single write lock first), the
responses are created under the unique key (assignment_id, user_id, due_at), and a batch is
one transaction: a duplicate rolls it all back and it is opened once more without the
occurrences that exist (backend.jobs.fire_batch_at_most_twice). A scheduler
that was down opens each missed occurrence still inside its window, and records older ones as
missed.

Whether an assignment still applies (the couple, its members, the counselor's link) is asked
of the couples and counseling services; this module reads no other domain's tables.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backend.counseling import service as counseling
from backend.couples import service as couples
from backend.database import claim, insert_rows, lock_rows
from backend.extensions import db
from backend.ids import new_id
from backend.jobs import BatchCounts, Counts, JobRun, fire_batch_at_most_twice, job
from backend.measures import service
from backend.measures.models import (
    AssignedPartner,
    Measure,
    MeasureAssignment,
    MeasureResponse,
)
from backend.notifications import service as notifications
from backend.unit_of_work import unit_of_work

BATCH = 200
MAX_OCCURRENCES_PER_CLAIM = 100
MAX_BATCHES = 50


@dataclass
class MeasureTickReport:
    """What the measures' part of one tick did."""

    opened: int = 0
    missed: int = 0
    expired: int = 0
    reminded: int = 0


def claim_due(*, now: datetime, limit: int) -> list[AssignedPartner]:
    """Lock a batch of due partner rows for this process (PostgreSQL skips rows others hold)."""
    statement = (
        sa.select(AssignedPartner)
        .where(AssignedPartner.status == "active", AssignedPartner.next_due_at <= now)
        .order_by(AssignedPartner.next_due_at)
        .limit(limit)
    )
    return list(
        lock_rows(
            statement, AssignedPartner.__table__, db.session, skip_locked=True, of=AssignedPartner
        )
    )


def _partner_timezone(assignment: MeasureAssignment, user_id: str) -> str | None:
    """The partner's time zone while the assignment still applies to them: it is active, the
    measure still published, the couple active with this partner in it, and the counselor
    still linked. None once any of these no longer holds."""
    if assignment.status != "active" or assignment.measure.status != "published":
        return None
    couple = couples.active_couple_of(user_id)
    if couple is None or couple.id != assignment.couple_id or not couple.is_active:
        return None
    linked = any(
        link.counselor_id == assignment.counselor_id and link.status == "active"
        for link in counseling.links_of(couple)
    )
    if not linked:
        return None
    return next(m.user.timezone for m in couple.members if m.user_id == user_id)


def _tell_opened(user_id: str, response_id: str) -> None:
    """The partner learns an occurrence is open; generic words: a lock screen may be seen by
    others, so no measure's name."""
    notifications.notify(
        user_ids=[user_id],
        kind="measure_opened",
        title="A questionnaire is waiting",
        body="Your counselor asked you to fill in a short questionnaire. Your "
        "answers are yours; nobody sees them unless you choose to share.",
        subject=("measure_response", response_id),
    )


def run_due_batch(*, now: datetime, limit: int) -> BatchCounts:
    """Claim one batch and open it in one transaction. Returns (claimed, opened, missed).
    An occurrence already opened is left out on a second opening (fire_batch_at_most_twice)."""
    return fire_batch_at_most_twice(
        lambda skip_opened: _open_batch(now=now, limit=limit, skip_opened=skip_opened),
        what="a measure batch",
    )


def _open_batch(*, now: datetime, limit: int, skip_opened: bool) -> BatchCounts:
    """One claimed batch, opened in one unit of work (with `skip_opened`, not the occurrences
    that exist already)."""
    rows: list[dict[str, Any]] = []
    with unit_of_work():
        parts = claim_due(now=now, limit=limit)
        opened = _opened_occurrences(parts) if skip_opened and parts else set()
        for part in parts:
            rows += _open_occurrences(part, now, opened)
        insert_rows(db.session, MeasureResponse, rows)
    missed_count = sum(r["status"] == "missed" for r in rows)
    return len(parts), len(rows) - missed_count, missed_count


def _opened_occurrences(parts: list[AssignedPartner]) -> set[tuple[str, str, datetime]]:
    """(assignment, partner, due time) of the responses these partner rows opened at or
    after the earliest of their due instants."""
    since = min(part.next_due_at for part in parts)
    rows = db.session.execute(
        sa.select(
            MeasureResponse.assignment_id, MeasureResponse.user_id, MeasureResponse.due_at
        ).where(
            MeasureResponse.assignment_id.in_({part.assignment_id for part in parts}),
            MeasureResponse.due_at >= since,
        )
    )
    return {(assignment_id, user_id, due_at) for assignment_id, user_id, due_at in rows}


def _open_occurrences(
    part: AssignedPartner, now: datetime, opened: set[tuple[str, str, datetime]]
) -> list[dict[str, Any]]:
    """The response rows of one partner's due occurrences (at most a claim's worth), but not
    those in `opened`; the partner is told of each still open. Moves the partner's next due
    instant on."""
    assignment = db.session.get(MeasureAssignment, part.assignment_id)
    timezone = _partner_timezone(assignment, part.user_id)
    if timezone is None:
        part.status, part.next_due_at = "ended", None
        return []
    version_id = db.session.get(Measure, assignment.measure_id).current().id
    window = timedelta(hours=assignment.window_hours)
    rows: list[dict[str, Any]] = []
    due = part.next_due_at
    while due is not None and due <= now and len(rows) < MAX_OCCURRENCES_PER_CLAIM:
        if (assignment.id, part.user_id, due) in opened:
            due = _next_due(assignment, part, timezone, due)
            continue
        closes_at = due + window
        missed = closes_at <= now
        response_id = new_id()
        rows.append(
            {
                "id": response_id,
                "user_id": part.user_id,
                "measure_id": assignment.measure_id,
                "measure_version_id": version_id,
                "assignment_id": assignment.id,
                "source": "assigned",
                "status": "missed" if missed else "open",
                "due_at": due,
                "opened_at": due if missed else now,
                "closes_at": closes_at,
                "remind_at": closes_at - service.REMINDER_BEFORE_CLOSE,
                "reminded_at": None,
                "answers": {},
                "submitted_at": None,
                "score": None,
                "band": None,
                "updated_at": now,
            }
        )
        if not missed:
            _tell_opened(part.user_id, response_id)
        due = _next_due(assignment, part, timezone, due)
    part.next_due_at = due
    if due is None:
        part.status = "done"
    return rows


def _next_due(
    assignment: MeasureAssignment, part: AssignedPartner, timezone: str, due: datetime
) -> datetime | None:
    """The partner's occurrence after `due` (None once the assignment has run its course)."""
    return service.next_after(
        frequency=assignment.frequency,
        local_time=assignment.local_time,
        timezone=timezone,
        weekday=part.weekday,
        due=due,
    )


def open_due(
    *, now: datetime, batch_size: int = BATCH, stop: threading.Event | None = None
) -> tuple[int, int]:
    """Open what is due, batch after batch; between batches it honours `stop`. Returns
    (opened, missed)."""
    opened = missed = 0
    for _ in range(MAX_BATCHES):  # bounded: a huge backlog continues at the next tick
        if stop is not None and stop.is_set():
            break
        claimed, opened_now, missed_now = run_due_batch(now=now, limit=batch_size)
        if not claimed:
            break
        opened += opened_now
        missed += missed_now
    return opened, missed


def close_expired(*, now: datetime) -> int:
    """Close assigned responses whose window ended without a submission. Returns how many."""
    return db.session.execute(
        sa.update(MeasureResponse)
        .where(MeasureResponse.status == "open", MeasureResponse.closes_at <= now)
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def send_reminders(*, now: datetime, limit: int = 10_000) -> int:
    """Remind the author of each open assigned response once, a day before it closes."""
    due = db.session.execute(
        sa.select(MeasureResponse.id, MeasureResponse.user_id)
        .where(
            MeasureResponse.status == "open",
            MeasureResponse.remind_at <= now,
            MeasureResponse.closes_at > now,
            MeasureResponse.reminded_at.is_(None),
        )
        .limit(limit)
    ).all()
    sent = 0
    for response_id, user_id in due:
        if not claim(
            db.session,
            sa.update(MeasureResponse)
            .where(MeasureResponse.id == response_id, MeasureResponse.reminded_at.is_(None))
            .values(reminded_at=now),
        ):
            continue
        sent += 1
        notifications.notify(
            user_ids=[user_id],
            kind="measure_reminder",
            title="Your questionnaire is still open",
            body="The questionnaire your counselor asked for closes tomorrow; fill it in "
            "whenever you are ready.",
            subject=("measure_response", response_id),
        )
    return sent


def run(
    *, now: datetime, batch_size: int = BATCH, stop: threading.Event | None = None
) -> MeasureTickReport:
    """The measures' duties of one tick, as the tick runs them (three registered jobs)."""
    report = MeasureTickReport()
    report.opened, report.missed = open_due(now=now, batch_size=batch_size, stop=stop)
    with unit_of_work():
        report.expired = close_expired(now=now)
    with unit_of_work():
        report.reminded = send_reminders(now=now)
    return report


# Its own transactions on purpose: each batch is one, so a crash keeps the batches done and a
# duplicate occurrence rolls back only its batch.
@job("measures.open_due", counts=("measures_opened", "measures_missed"), own_transactions=True)
def open_due_job(run: JobRun) -> Counts:
    """Open each assigned occurrence that is due, exactly once."""
    opened, missed = open_due(now=run.now, stop=run.stop)
    return {"measures_opened": opened, "measures_missed": missed}


@job("measures.close_expired", counts=("measures_expired",))
def close_expired_job(run: JobRun) -> Counts:
    """Close assigned responses whose window ended without a submission."""
    return {"measures_expired": close_expired(now=run.now)}


@job("measures.send_reminders", counts=("measure_reminders",))
def send_reminders_job(run: JobRun) -> Counts:
    """Remind the author of each open assigned response once, a day before it closes."""
    return {"measure_reminders": send_reminders(now=run.now)}
