"""Schedules: the couple's rules for when check-ins arrive."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.models import Schedule
from tests.helpers import assert_problem, make_partner, pair

WEEKLY = {
    "prompt_set": "weekly_trust_checkin",
    "frequency": "weekly",
    "weekdays": ["sun"],
    "local_time": "19:00",
}


def create(user, **overrides):
    response = user.post("/couple/schedules", json={**WEEKLY, **overrides})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def notified(user, kind):
    return db.session.scalars(
        sa.select(Notification).where(
            Notification.user_id == user.user["id"], Notification.kind == kind
        )
    ).all()


def test_create_uses_the_couples_timezone_by_default(app):
    # The whole story at one date: the couple pairs an hour before the schedule is made, so
    # the timeline's newest-first order is the same whatever today's date is.
    with time_machine.travel(datetime(2026, 11, 24, 11, 0, tzinfo=UTC), tick=False):
        alice = make_partner(app, "alice@example.com", "Alice")
        bob = make_partner(app, "bob@example.com", "Bob")
        pair(alice, bob)
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)):
        alice.login().patch("/couple", json={"timezone": "Europe/Berlin"})
        schedule = create(alice)
        kinds = [e["kind"] for e in bob.login().get("/couple/timeline").get_json()["items"]]
    assert schedule["timezone"] == "Europe/Berlin" and schedule["follows_couple_timezone"]
    assert schedule["window_hours"] == 24 and schedule["paused"] is False
    assert schedule["next_due_at"] == "2026-11-29T18:00:00Z"  # Sunday 19:00 CET
    assert notified(bob, "schedule_created") and not notified(alice, "schedule_created")
    assert kinds[0] == "schedule_created"


def test_list_and_get(alice, bob, couple):
    created = create(alice)
    assert [s["id"] for s in bob.get("/couple/schedules").get_json()] == [created["id"]]
    assert bob.get(f"/schedules/{created['id']}").get_json() == created


def test_invalid_values_are_named_and_nothing_is_written(alice, couple):
    cases = [
        ({"frequency": "hourly"}, "frequency"),
        ({"weekdays": ["funday"]}, "weekdays.0"),
        ({"weekdays": []}, "weekdays"),
        ({"frequency": "daily"}, "weekdays"),
        ({"local_time": "7pm"}, "local_time"),
        ({"local_time": "24:00"}, "local_time"),
        ({"timezone": "Moon/Base"}, "timezone"),
        ({"window_hours": 0}, "window_hours"),
        ({"window_hours": 73}, "window_hours"),
        ({"window_hours": 12, "reminder_hours_before_close": 12}, "reminder_hours_before_close"),
        ({"prompt_set": "nope"}, "prompt_set"),
        ({"colour": "blue"}, "colour"),
    ]
    for overrides, field in cases:
        assert_problem(alice.post("/couple/schedules", json={**WEEKLY, **overrides}), 422, field)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Schedule)) == 0


def test_either_partner_may_change_or_pause_and_the_other_is_told(alice, bob, couple):
    schedule = create(alice)
    changed = bob.patch(f"/schedules/{schedule['id']}", json={"local_time": "20:30"})
    assert changed.status_code == 200 and changed.get_json()["local_time"] == "20:30"
    assert notified(alice, "schedule_changed")
    paused = alice.patch(f"/schedules/{schedule['id']}", json={"paused": True})
    assert paused.get_json()["paused"] is True
    assert notified(bob, "schedule_paused")
    assert bob.get(f"/schedules/{schedule['id']}/upcoming").get_json() == []
    bob.patch(f"/schedules/{schedule['id']}", json={"paused": False})
    assert notified(alice, "schedule_resumed")
    kinds = [e["kind"] for e in alice.get("/couple/timeline").get_json()["items"]]
    assert kinds[:4] == [
        "schedule_resumed",
        "schedule_paused",
        "schedule_changed",
        "schedule_created",
    ]


def test_a_patch_changing_nothing_records_nothing(alice, bob, couple):
    schedule = create(alice)
    response = bob.patch(f"/schedules/{schedule['id']}", json={"local_time": "19:00"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["local_time"] == "19:00"
    assert not notified(alice, "schedule_changed")


def test_delete_tells_the_other_and_keeps_past_checkins(alice, bob, couple):
    schedule = create(alice)
    assert bob.delete(f"/schedules/{schedule['id']}").status_code == 204
    assert_problem(alice.get(f"/schedules/{schedule['id']}"), 404)
    assert notified(alice, "schedule_deleted")


def test_upcoming_lists_utc_and_local_times_across_dst(alice, couple):
    with time_machine.travel(datetime(2026, 3, 25, 12, 0, tzinfo=UTC), tick=False):
        alice.login()
        schedule = create(
            alice, frequency="daily", weekdays=[], local_time="02:30", timezone="Europe/Berlin"
        )
        upcoming = alice.get(f"/schedules/{schedule['id']}/upcoming?count=6").get_json()
    assert [o["local"] for o in upcoming] == [
        "2026-03-26T02:30:00+01:00",
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]
    assert upcoming[3]["at"] == "2026-03-29T01:00:00Z"
    assert_problem(alice.login().get(f"/schedules/{schedule['id']}/upcoming?count=0"), 422, "count")


def test_schedules_follow_the_couple_when_it_changes_time_zone(alice, couple):
    with time_machine.travel(datetime(2026, 11, 24, 12, 0, tzinfo=UTC), tick=False):
        alice.login()
        following = create(alice)
        fixed = create(alice, timezone="Asia/Tokyo")
        alice.patch("/couple", json={"timezone": "America/New_York"})
        moved = alice.get(f"/schedules/{following['id']}").get_json()
        kept = alice.get(f"/schedules/{fixed['id']}").get_json()
    assert moved["timezone"] == "America/New_York"
    assert moved["next_due_at"] == "2026-11-30T00:00:00Z"  # Sunday 19:00 EST
    assert kept["timezone"] == "Asia/Tokyo" and kept["next_due_at"] == fixed["next_due_at"]


def test_schedules_stop_when_the_couple_ends(alice, bob, couple):
    schedule = create(alice)
    bob.post("/couple/leave", json={})
    stopped = alice.get(f"/schedules/{schedule['id']}").get_json()
    assert stopped["status"] == "stopped" and stopped["next_due_at"] is None
    assert_problem(alice.patch(f"/schedules/{schedule['id']}", json={"paused": True}), 409)
    assert_problem(alice.post("/couple/schedules", json=WEEKLY), 409)
    assert_problem(alice.delete(f"/schedules/{schedule['id']}"), 409)


def test_upcoming_with_a_count_of_one(alice, couple):
    schedule = create(alice)
    upcoming = alice.get(f"/schedules/{schedule['id']}/upcoming?count=1").get_json()
    assert [o["at"] for o in upcoming] == [schedule["next_due_at"]]
