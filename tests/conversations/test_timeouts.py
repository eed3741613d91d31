"""Time-outs: either partner pauses at any moment; nothing is written until the cool-down ends."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from backend.timeline.models import TimelineEvent
from tests.conversations.helpers import start
from tests.helpers import assert_problem

START = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def told(user, kind) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.user["id"], Notification.kind == kind)
    )


def paused_conversation(alice, bob, minutes=None):
    with time_machine.travel(START, tick=False):
        conversation = start(alice.login(), "processing_a_trigger", "hurt_partner", alice)
        body = {} if minutes is None else {"minutes": minutes}
        response = bob.login().post(f"/conversations/{conversation['id']}/pause", json=body)
        assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_pause_stops_writing_for_at_least_20_minutes_and_tells_the_other(alice, bob, couple):
    conversation = paused_conversation(alice, bob)
    assert conversation["status"] == "paused"
    assert conversation["paused_until"] == "2026-11-24T20:20:00Z"
    assert told(alice, "conversation_paused") == 1
    url = f"/conversations/{conversation['id']}/entries"
    with time_machine.travel(START + timedelta(minutes=19), tick=False):
        body = assert_problem(alice.login().post(url, json={"text": "Wait"}), 409)
        assert "Bob" in body["detail"] and "time-out" in body["detail"]
        assert_problem(alice.post(f"/conversations/{conversation['id']}/ready"), 409)
    with time_machine.travel(START + timedelta(minutes=21), tick=False):
        after = alice.login().post(url, json={"text": "I am calmer now"})
        assert after.status_code == 201
        assert after.get_json()["status"] == "active"


def test_only_the_one_who_paused_can_resume_early(alice, bob, couple):
    conversation = paused_conversation(alice, bob, minutes=60)
    url = f"/conversations/{conversation['id']}/resume"
    with time_machine.travel(START + timedelta(minutes=5), tick=False):
        assert_problem(alice.login().post(url), 409)
        resumed = bob.login().post(url)
        assert resumed.status_code == 200 and resumed.get_json()["status"] == "active"
    assert told(alice, "conversation_resumed") == 1


def test_pause_length_is_checked(alice, bob, couple):
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    url = f"/conversations/{conversation['id']}/pause"
    assert_problem(bob.post(url, json={"minutes": 19}), 422, "minutes")
    assert_problem(bob.post(url, json={"minutes": 24 * 60 + 1}), 422, "minutes")
    assert bob.post(url, json={"minutes": 45}).status_code == 200
    assert_problem(alice.post(url, json={}), 409)  # already paused


def test_a_day_long_pause_prompts_both_once(alice, bob, couple):
    paused_conversation(alice, bob)
    with time_machine.travel(START + timedelta(hours=23), tick=False):
        assert tick().pause_prompts == 0
    with time_machine.travel(START + timedelta(hours=24, minutes=1), tick=False):
        assert tick().pause_prompts == 1
        assert tick().pause_prompts == 0
    assert told(alice, "conversation_pause_prompt") == told(bob, "conversation_pause_prompt") == 1


def test_both_ready_at_once_moves_on_exactly_one_step(app, alice, bob, couple):
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    alice.post(f"/conversations/{conversation['id']}/entries", json={"text": "It hurt."})
    barrier = threading.Barrier(2)
    results = []

    def ready(user):
        with app.app_context():
            barrier.wait()
            results.append(user.post(f"/conversations/{conversation['id']}/ready").status_code)

    threads = [threading.Thread(target=ready, args=(u,)) for u in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    view = alice.get(f"/conversations/{conversation['id']}").get_json()
    assert view["current_step"]["index"] == 1
    steps_done = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TimelineEvent)
        .where(TimelineEvent.kind == "conversation_step_completed")
    )
    assert steps_done == 1
