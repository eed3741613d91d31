"""The measures' part of the tick: open each assigned occurrence exactly once, remind once,
close at the window's end.

Exactly once, as for check-ins (backend/scheduling/jobs.py): a batch of due partner rows is
claimed with `SELECT ... FOR UPDATE SKIP LOCKED` (SQLite: its single write lock first), the
responses are created under the unique key (assignment_id, user_id, due_at), and a batch is
one transaction: a duplicate rolls it all back and the next tick claims afresh. A scheduler
that was down opens each missed occurrence still inside its window, and records older ones as
missed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backend.accounts.models import User
from backend.counseling.models import CounselorLink
from backend.couples.models import Couple, CoupleMember
from backend.database import claim, lock_rows
from backend.extensions import db
from backend.ids import new_id
from backend.measures import service
from backend.measures.models import (
    AssignedPartner,
    Measure,
    MeasureAssignment,
    MeasureResponse,
)
from backend.notifications import service as notifications
from backend.notifications.models import Notification

log = logging.getLogger(__name__)
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


def _still_wanted(assignment: MeasureAssignment, user_id: str) -> bool:
    """The assignment is active, its counselor still linked, the couple active with this
    partner in it, and the measure still published."""
    if assignment.status != "active" or assignment.measure.status != "published":
        return False
    couple = db.session.get(Couple, assignment.couple_id)
    if couple is None or not couple.is_active:
        return False
    member = db.session.scalar(
        sa.select(CoupleMember.id).where(
            CoupleMember.couple_id == couple.id,
            CoupleMember.user_id == user_id,
            CoupleMember.ended_at.is_(None),
        )
    )
    linked = db.session.scalar(
        sa.select(CounselorLink.id).where(
            CounselorLink.couple_id == couple.id,
            CounselorLink.counselor_id == assignment.counselor_id,
            CounselorLink.status == "active",
        )
    )
    return member is not None and linked is not None


def run_due_batch(*, now: datetime, limit: int) -> tuple[int, int, int]:
    """Claim one batch and open it in one transaction. Returns (claimed, opened, missed)."""
    parts = claim_due(now=now, limit=limit)
    if not parts:
        db.session.commit()
        return 0, 0, 0
    rows: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for part in parts:
        assignment = db.session.get(MeasureAssignment, part.assignment_id)
        if not _still_wanted(assignment, part.user_id):
            part.status, part.next_due_at = "ended", None
            continue
        person = db.session.get(User, part.user_id)
        version_id = db.session.get(Measure, assignment.measure_id).current().id
        window = timedelta(hours=assignment.window_hours)
        due = part.next_due_at
        count = 0
        while due is not None and due <= now and count < MAX_OCCURRENCES_PER_CLAIM:
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
                # Generic words: a lock screen may be seen by others, so no measure's name.
                notes += notifications.notification_rows(
                    user_ids=[part.user_id],
                    kind="measure_opened",
                    title="A questionnaire is waiting",
                    body="Your counselor asked you to fill in a short questionnaire. Your "
                    "answers are yours; nobody sees them unless you choose to share.",
                    subject=("measure_response", response_id),
                )
            count += 1
            due = service.next_after(
                frequency=assignment.frequency,
                local_time=assignment.local_time,
                timezone=person.timezone,
                weekday=part.weekday,
                due=due,
            )
        part.next_due_at = due
        if due is None:
            part.status = "done"
    try:
        if rows:
            db.session.execute(sa.insert(MeasureResponse), rows)
        if notes:
            db.session.execute(sa.insert(Notification), notes)
        db.session.commit()
    except sa.exc.IntegrityError:
        # Another process opened one of these occurrences after all: keep nothing of the batch.
        db.session.rollback()
        log.warning("measure batch of %d rolled back on a duplicate occurrence", len(parts))
        return len(parts), 0, 0
    missed_count = sum(r["status"] == "missed" for r in rows)
    return len(parts), len(rows) - missed_count, missed_count


def close_expired(*, now: datetime) -> int:
    """Close assigned responses whose window ended without a submission. Returns how many."""
    closed = db.session.execute(
        sa.update(MeasureResponse)
        .where(MeasureResponse.status == "open", MeasureResponse.closes_at <= now)
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return closed


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
    db.session.commit()
    return sent


def run(
    *, now: datetime, batch_size: int = BATCH, stop: threading.Event | None = None
) -> MeasureTickReport:
    """The measures' duties of one tick; between batches it honours `stop`."""
    report = MeasureTickReport()
    for _ in range(MAX_BATCHES):  # bounded: a huge backlog continues at the next tick
        if stop is not None and stop.is_set():
            break
        claimed, opened, missed = run_due_batch(now=now, limit=batch_size)
        if not claimed:
            break
        report.opened += opened
        report.missed += missed
    report.expired = close_expired(now=now)
    report.reminded = send_reminders(now=now)
    return report
