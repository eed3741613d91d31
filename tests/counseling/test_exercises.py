"""Exercises a linked counselor assigns, and how they complete."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from tests.conversations.helpers import step_through
from tests.counseling.helpers import link
from tests.helpers import answers_for, assert_problem


def assign(counselor, couple, **body):
    response = counselor.post(f"/counselor/couples/{couple['id']}/exercises", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_reflection_completes_when_both_mark_their_part_done(alice, bob, couple, counselor):
    link(alice, bob, counselor)
    exercise = assign(
        counselor,
        couple,
        kind="reflection",
        prompts=["What helped this week?"],
        instructions="Talk",
    )
    assert [e["id"] for e in alice.get("/couple/exercises").get_json()] == [exercise["id"]]
    first = alice.post(f"/exercises/{exercise['id']}/complete").get_json()
    assert first["status"] == "open"
    assert_problem(alice.post(f"/exercises/{exercise['id']}/complete"), 409)
    done = bob.post(f"/exercises/{exercise['id']}/complete").get_json()
    assert done["status"] == "completed"
    kinds = [e["kind"] for e in alice.get("/couple/timeline").get_json()["items"]]
    assert kinds[0] == "exercise_completed" and "exercise_assigned" in kinds
    progress = counselor.get(f"/counselor/couples/{couple['id']}").get_json()["progress"]
    assert progress["open_exercises"] == 0


def test_a_checkin_exercise_opens_a_checkin_and_completes_on_reveal(alice, bob, couple, counselor):
    link(alice, bob, counselor)
    exercise = assign(counselor, couple, kind="checkin", template="daily_pulse")
    checkin = alice.get(f"/checkins/{exercise['checkin_id']}").get_json()
    assert checkin["source"] == "exercise"
    for partner in (alice, bob):
        partner.put(
            f"/checkins/{checkin['id']}/answers",
            json={"answers": answers_for(checkin), "submit": True},
        )
    assert alice.get("/couple/exercises").get_json()[0]["status"] == "completed"


def test_a_conversation_exercise_completes_with_its_conversation(alice, bob, couple, counselor):
    link(alice, bob, counselor)
    exercise = assign(counselor, couple, kind="conversation", template="processing_a_trigger")
    conversation = alice.post(
        f"/exercises/{exercise['id']}/conversation",
        json={"roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    assert_problem(
        bob.post(f"/exercises/{exercise['id']}/conversation", json={"roles": {"speaker": "x"}}),
        409,
    )
    partners = {alice.user["id"]: alice, bob.user["id"]: bob}
    while conversation["current_step"] is not None:
        conversation = step_through(conversation, partners)
    assert alice.get("/couple/exercises").get_json()[0]["status"] == "completed"


def test_bad_exercises_are_named(alice, bob, couple, counselor):
    link(alice, bob, counselor)
    url = f"/counselor/couples/{couple['id']}/exercises"
    cases = [
        ({"kind": "homework"}, "kind"),
        ({"kind": "checkin"}, "template"),
        ({"kind": "checkin", "template": "nope"}, "template"),
        ({"kind": "conversation", "template": "nope"}, "template"),
        ({"kind": "reflection"}, "prompts"),
        ({"kind": "reflection", "prompts": ["x"], "due_on": "2000-01-01"}, "due_on"),
    ]
    for body, field in cases:
        assert_problem(counselor.post(url, json=body), 422, field)
    assert alice.get("/couple/exercises").get_json() == []


def test_each_partner_is_reminded_once_the_day_before_it_is_due(alice, bob, couple, counselor):
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        alice.login(), bob.login(), counselor.login()
        link(alice, bob, counselor)
        exercise = assign(counselor, couple, kind="reflection", prompts=["x"], due_on="2026-11-28")
        alice.post(f"/exercises/{exercise['id']}/complete")
    with time_machine.travel(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=False):
        assert tick().exercise_reminders == 0
    with time_machine.travel(datetime(2026, 11, 27, 9, 0, tzinfo=UTC), tick=False):
        assert tick().exercise_reminders == 1
        assert tick().exercise_reminders == 0
    reminded = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "exercise_due")
    ).all()
    assert reminded == [bob.user["id"]]
    assert date(2026, 11, 28) - timedelta(days=1) == date(2026, 11, 27)


def test_ending_the_link_cancels_that_counselors_open_exercises(alice, bob, couple, counselor):
    import sqlalchemy as sa

    from backend.extensions import db
    from backend.notifications.models import Notification

    linked = link(alice, bob, counselor)
    exercise = assign(counselor, couple, kind="reflection", prompts=["x"])
    alice.delete(f"/counselor-links/{linked['id']}")
    assert alice.get("/couple/exercises").get_json()[0]["status"] == "cancelled"
    assert_problem(bob.post(f"/exercises/{exercise['id']}/complete"), 409)
    told = db.session.scalars(
        sa.select(Notification.kind).where(Notification.user_id == counselor.user["id"])
    ).all()
    assert "exercise_completed" not in told
