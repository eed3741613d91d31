"""The tick opens each occurrence once, catches up, closes, reminds and purges."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from backend.checkins.models import Checkin
from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from backend.timeline.models import TimelineEvent
from tests.helpers import answers_for

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def daily_at(user, local_time="19:00", **extra):
    response = user.post(
        "/couple/schedules",
        json={
            "prompt_set": "daily_pulse",
            "frequency": "daily",
            "local_time": local_time,
            "timezone": "UTC",
            **extra,
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def checkins() -> list[Checkin]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Checkin).order_by(Checkin.due_at)))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_a_due_schedule_opens_one_checkin_for_both_and_advances(alice, bob, couple):
    with at(MONDAY_NOON):
        schedule = daily_at(alice.login())
    with at(MONDAY_NOON + timedelta(hours=7, minutes=1)):
        report = tick()
        again = tick()
    assert report.opened == 1 and again.opened == 0
    [checkin] = checkins()
    assert checkin.source == "scheduled" and checkin.status == "open"
    assert checkin.due_at == datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    assert checkin.closes_at == checkin.due_at + timedelta(hours=24)
    told = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "checkin_opened")
    ).all()
    assert sorted(told) == sorted([alice.user["id"], bob.user["id"]])
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_opened") == 1
    with at(MONDAY_NOON + timedelta(hours=8)):
        nxt = alice.login().get(f"/schedules/{schedule['id']}").get_json()["next_due_at"]
    assert nxt == "2026-11-24T19:00:00Z"


def test_a_late_tick_still_fires_and_catches_up_what_is_still_open(alice, couple):
    with at(MONDAY_NOON):
        daily_at(alice.login(), window_hours=48)
    # Down until Thursday 20:00: Monday's and Tuesday's 48-hour windows have closed
    # (Wed 19:00, Thu 19:00); Wednesday's and Thursday's are still open.
    with at(datetime(2026, 11, 26, 20, 0, tzinfo=UTC)):
        report = tick()
    statuses = [(c.due_at.day, c.status) for c in checkins()]
    assert statuses == [(23, "missed"), (24, "missed"), (25, "open"), (26, "open")]
    assert report.opened == 2 and report.missed == 2
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_missed") == 2


def test_paused_schedules_do_not_fire_and_resuming_does_not_catch_up(alice, couple):
    with at(MONDAY_NOON):
        schedule = daily_at(alice.login())
        alice.patch(f"/schedules/{schedule['id']}", json={"paused": True})
    with at(MONDAY_NOON + timedelta(days=3)):
        assert tick().opened == 0
        alice.login().patch(f"/schedules/{schedule['id']}", json={"paused": False})
        assert tick().opened == 0
    with at(datetime(2026, 11, 26, 19, 0, 1, tzinfo=UTC)):
        assert tick().opened == 1


def test_expired_checkins_close_and_note_who_did_not_answer(alice, bob, couple):
    with at(MONDAY_NOON):
        daily_at(alice.login(), window_hours=2)
    with at(datetime(2026, 11, 23, 19, 5, tzinfo=UTC)):
        tick()
        [checkin] = checkins()
        view = alice.login().get(f"/checkins/{checkin.id}").get_json()
        alice.put(
            f"/checkins/{checkin.id}/answers",
            json={"answers": answers_for(view), "submit": True},
        )
    with at(datetime(2026, 11, 23, 21, 0, 1, tzinfo=UTC)):
        report = tick()
        assert tick().expired == 0
    assert report.expired == 1
    [checkin] = checkins()
    assert checkin.status == "expired"
    missed = db.session.scalars(
        sa.select(TimelineEvent).where(TimelineEvent.kind == "checkin_missed")
    ).all()
    assert [e.actor_id for e in missed] == [bob.user["id"]]


def test_one_gentle_reminder_to_whoever_has_not_answered(alice, bob, couple):
    with at(MONDAY_NOON):
        daily_at(alice.login(), window_hours=24, reminder_hours_before_close=6)
    with at(datetime(2026, 11, 23, 19, 1, tzinfo=UTC)):
        tick()
        [checkin] = checkins()
        view = bob.login().get(f"/checkins/{checkin.id}").get_json()
        bob.put(
            f"/checkins/{checkin.id}/answers", json={"answers": answers_for(view), "submit": True}
        )
    with at(datetime(2026, 11, 24, 13, 0, 1, tzinfo=UTC)):
        assert tick().reminded == 1
        assert tick().reminded == 0
    reminders = db.session.scalars(
        sa.select(Notification).where(Notification.kind == "checkin_reminder")
    ).all()
    assert [n.user_id for n in reminders] == [alice.user["id"]]
    assert "late" not in reminders[0].body.lower()


def test_manual_checkins_get_one_reminder_a_day_before_they_close(alice, bob, couple):
    with at(MONDAY_NOON):
        alice.login().post("/couple/checkins", json={"prompt_set": "daily_pulse"})
    with at(MONDAY_NOON + timedelta(days=5)):
        assert tick().reminded == 0
    with at(MONDAY_NOON + timedelta(days=6, minutes=1)):
        assert tick().reminded == 2


def test_ended_couples_get_no_more_checkins(alice, bob, couple):
    with at(MONDAY_NOON):
        daily_at(alice.login())
        left = bob.login().post("/couple/leave", json={})
        assert left.status_code in (200, 204), left.get_data(as_text=True)
    with at(MONDAY_NOON + timedelta(days=2)):
        assert tick().opened == 0
    assert checkins() == []


def test_the_tick_purges_expired_sessions_and_idempotency_keys(alice, couple):
    alice.post("/auth/logout")
    with at(datetime.now(UTC) + timedelta(days=31)):
        assert tick().purged >= 1


def test_a_schedule_whose_prompt_set_disappeared_is_stopped_not_crashing(alice, couple):
    from backend.checkins.models import PromptSet

    with at(MONDAY_NOON):
        schedule = daily_at(alice.login())
    prompt_set = db.session.scalar(sa.select(PromptSet).where(PromptSet.key == "daily_pulse"))
    prompt_set.retired_at = MONDAY_NOON
    db.session.commit()
    try:
        with at(MONDAY_NOON + timedelta(days=1)):
            tick()
            url = f"/schedules/{schedule['id']}"
            assert alice.login().get(url).get_json()["status"] == "stopped"
            assert alice.patch(url, json={"paused": True}).status_code == 409
        assert count(TimelineEvent, TimelineEvent.kind == "schedule_stopped") == 1
        assert count(Notification, Notification.kind == "schedule_stopped") == 2
    finally:
        prompt_set.retired_at = None
        db.session.commit()


def test_an_occurrence_opened_already_is_left_out_not_claimed_forever(alice, bob, couple):
    # A schedule moved back to an occurrence it already opened (a clock stepped back, a
    # restored backup): the unique key refuses the duplicate. The tick must still end, open
    # what the other schedule owes, and move the first one past its opened occurrence, or the
    # tick's jobs (closing, purging what people erased) would never run again.
    from backend.scheduling.models import Schedule

    with at(MONDAY_NOON):
        first = daily_at(alice.login(), local_time="19:00")
    with at(datetime(2026, 11, 23, 19, 1, tzinfo=UTC)):
        assert tick().opened == 1
    with at(datetime(2026, 11, 23, 19, 2, tzinfo=UTC)):
        second = daily_at(bob.login(), local_time="19:30")
    moved_back = db.session.get(Schedule, first["id"])
    moved_back.next_due_at = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    db.session.commit()

    stop = threading.Event()
    guard = threading.Timer(120, stop.set)  # ends a tick that would claim forever
    guard.start()
    try:
        with at(datetime(2026, 11, 24, 19, 1, tzinfo=UTC)):
            report = tick(stop=stop)
    finally:
        guard.cancel()
    assert not stop.is_set(), "the tick claimed the same batch again and again"
    opened = sorted((c.schedule_id, c.due_at.day, c.due_at.hour) for c in checkins())
    # The 23rd at 19:00 once; the first schedule's 24th and the second's 23rd (19:30).
    assert opened == sorted([(first["id"], 23, 19), (first["id"], 24, 19), (second["id"], 23, 19)])
    assert report.opened == 2
    db.session.expire_all()
    assert db.session.get(Schedule, first["id"]).next_due_at == datetime(
        2026, 11, 25, 19, 0, tzinfo=UTC
    )
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_opened") == 3


def test_a_batch_refused_twice_ends_the_claims_and_the_jobs_still_run(alice, couple, monkeypatch):
    # If the second firing meets a duplicate too (another process raced it), this tick stops
    # claiming; its jobs still run (here: purging the session Alice signed in with on Monday,
    # whose refresh token has expired 31 days on).
    from backend.checkins import service as checkins_service
    from backend.scheduling.models import Schedule

    with at(MONDAY_NOON):
        first = daily_at(alice.login())
    with at(datetime(2026, 11, 23, 19, 1, tzinfo=UTC)):
        tick()
    moved_back = db.session.get(Schedule, first["id"])
    moved_back.next_due_at = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    db.session.commit()
    monkeypatch.setattr(checkins_service, "scheduled_occurrences", lambda ids, since: set())
    with at(datetime(2026, 11, 23, 19, 2, tzinfo=UTC) + timedelta(days=31)):
        report = tick()
    assert report.batches == 0 and report.opened == 0
    assert report.purged >= 1
    assert len(checkins()) == 1


def test_leaving_closes_open_checkins_quietly(alice, bob, couple):
    with at(MONDAY_NOON):
        daily_at(alice.login())
    with at(datetime(2026, 11, 23, 19, 1, tzinfo=UTC)):
        tick()
        bob.login().post("/couple/leave", json={})
    with at(datetime(2026, 11, 24, 20, 0, tzinfo=UTC)):
        report = tick()
    assert report.reminded == 0 and report.expired == 0
    assert [c.status for c in checkins()] == ["expired"]
    assert count(TimelineEvent, TimelineEvent.kind == "checkin_missed") == 0
    assert count(Notification, Notification.kind == "checkin_reminder") == 0


def test_the_claim_is_served_by_the_partial_index(app, backend_name):
    from backend.scheduling.jobs import claim_due_schedules

    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        claim_due_schedules(now=MONDAY_NOON, limit=10)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
        db.session.rollback()
    select, params = next(s for s in statements if s[0].lstrip().upper().startswith("SELECT"))
    explain = "EXPLAIN QUERY PLAN " if backend_name == "sqlite" else "EXPLAIN "
    with db.engine.connect() as conn:
        if backend_name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + select, params))
    assert "ix_schedules_due" in plan
