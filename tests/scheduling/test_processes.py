"""Exactly once across real scheduler processes, SIGTERM and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.checkins.models import Checkin
from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.models import Schedule
from backend.timeline.models import TimelineEvent
from tests import clockshift
from tests.conftest import TEST_SETTINGS
from tests.factories import make_due_schedules

pytestmark = pytest.mark.slow


def scheduler(app, log_path: Path, *, batch_size: int = 100) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    env.update(
        TRUSTLINE_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_SECRET_KEY=TEST_SETTINGS["SECRET_KEY"],
        TRUSTLINE_SCHEDULER_INTERVAL_SECONDS="1",
        TRUSTLINE_SCHEDULER_BATCH_SIZE=str(batch_size),
        TRUSTLINE_LOG_LEVEL="INFO",
        TRUSTLINE_INSTANCE_DIR=str(log_path.parent),
    )
    return subprocess.Popen(
        clockshift.command("trustline", "scheduler"),
        env=env,
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
    )


RUNNING = "scheduler running in this process"


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def assert_each_occurrence_exactly_once(total: int) -> None:
    assert count(Checkin) == total
    distinct = db.session.scalar(
        sa.select(sa.func.count()).select_from(
            sa.select(Checkin.schedule_id, Checkin.due_at).distinct().subquery()
        )
    )
    assert distinct == total
    # the rest of each occurrence's transaction is there exactly once too
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_opened") == total
    assert count(Notification, Notification.kind == "checkin_opened") == 2 * total
    now = datetime.now(UTC)
    assert count(Schedule, Schedule.next_due_at <= now) == 0


def test_four_scheduler_processes_open_2000_due_checkins_exactly_once(app, tmp_path):
    make_due_schedules(2000, due_at=datetime.now(UTC) - timedelta(minutes=1))
    log = tmp_path / "schedulers.log"
    processes = [scheduler(app, log) for _ in range(4)]
    try:
        wait_for(
            lambda: count(Schedule, Schedule.next_due_at <= datetime.now(UTC)) == 0, 240, "all due"
        )
        # The first three can open everything before the fourth has started: each is stopped
        # once it runs (its SIGTERM handler is in place before it logs this), as a deployment's
        # would be, not while Python is still importing.
        wait_for(lambda: log.read_text().count(RUNNING) == 4, 120, "four schedulers running")
    finally:
        codes = [stop(p) for p in processes]
    assert codes == [0, 0, 0, 0], log.read_text()[-3000:]
    assert_each_occurrence_exactly_once(2000)


def test_a_scheduler_killed_mid_batch_loses_and_doubles_nothing(app, tmp_path):
    make_due_schedules(2000, due_at=datetime.now(UTC) - timedelta(minutes=1))
    log = tmp_path / "scheduler.log"
    first = scheduler(app, log, batch_size=50)
    try:
        wait_for(lambda: count(Checkin) > 0, 120, "the first batch")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    done_when_killed = count(Checkin)
    assert 0 < done_when_killed < 2000, "kill landed mid-run"
    # what was committed is whole: every check-in has its event and notifications
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_opened") == done_when_killed
    second = scheduler(app, log, batch_size=50)
    try:
        wait_for(
            lambda: count(Schedule, Schedule.next_due_at <= datetime.now(UTC)) == 0, 240, "all due"
        )
    finally:
        assert stop(second) == 0
    assert_each_occurrence_exactly_once(2000)


def test_sigterm_finishes_the_batch_in_hand_and_exits(app, tmp_path):
    make_due_schedules(1500, due_at=datetime.now(UTC) - timedelta(minutes=1))
    log = tmp_path / "scheduler.log"
    process = scheduler(app, log, batch_size=100)
    wait_for(lambda: count(Checkin) > 0, 120, "the first batch")
    started = time.monotonic()
    assert stop(process) == 0
    assert time.monotonic() - started < 30
    done = count(Checkin)
    assert done % 100 == 0 or done == 1500, "only whole batches were committed"
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_opened") == done


def test_killing_the_scheduler_during_expiry_and_reminders_loses_and_doubles_nothing(app, tmp_path):
    from backend.checkins import service as checkins
    from backend.checkins.models import CheckinResponse
    from backend.couples.models import CoupleMember

    now = datetime.now(UTC)
    make_due_schedules(1000, due_at=now + timedelta(days=1))
    members: dict[str, list[str]] = {}
    for couple_id, user_id in db.session.execute(
        sa.select(CoupleMember.couple_id, CoupleMember.user_id)
    ):
        members.setdefault(couple_id, []).append(user_id)
    openings = []
    for n, (couple_id, user_ids) in enumerate(members.items()):
        expired = n % 2 == 0
        openings.append(
            checkins.Opening(
                couple_id=couple_id,
                member_ids=tuple(user_ids),
                prompt_set_key="daily_pulse",
                closes_at=now - timedelta(minutes=1) if expired else now + timedelta(hours=5),
                remind_at=now - timedelta(minutes=1),
            )
        )
    checkins.open_checkins(openings)
    db.session.commit()
    log = tmp_path / "scheduler.log"
    for pause in (0.3, 0.6):
        process = scheduler(app, log, batch_size=50)
        time.sleep(pause)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    last = scheduler(app, log, batch_size=50)
    try:
        wait_for(lambda: count(Checkin, Checkin.status == "expired") == 500, 120, "expiry")
        wait_for(
            lambda: count(CheckinResponse, CheckinResponse.reminded_at.is_not(None)) == 1000,
            120,
            "reminders",
        )
    finally:
        assert stop(last) == 0
    # each expired check-in noted once per partner who didn't answer; each reminder sent once
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_missed") == 1000
    assert count(Notification, Notification.kind == "checkin_reminder") == 1000
    assert count(Checkin, Checkin.status == "open") == 500
