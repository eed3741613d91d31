"""A database error in the middle of a multi-row write: a clean problem, nothing half-done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.agreements.models import Agreement, AgreementConsent
from backend.checkins.models import Checkin, CheckinResponse
from backend.conversations.models import Conversation, ConversationReady
from backend.couples.models import Couple, CoupleMember, PairingInvite
from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from backend.timeline import service as timeline
from backend.timeline.models import TimelineEvent
from tests.conversations.helpers import start
from tests.helpers import PASSWORD, answers_for, assert_problem
from tests.scheduling.test_tick import daily_at


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture
def failing_timeline(monkeypatch):
    """Make the timeline write (which comes after the other rows of a change) fail."""

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT INTO timeline_events", {}, Exception("disk gone"))

    monkeypatch.setattr(timeline, "record", fail)
    monkeypatch.setattr(
        timeline,
        "event_row",
        lambda **kwargs: fail(**kwargs),  # bulk paths too
    )


def assert_clean_503(response) -> None:
    body = assert_problem(response, 503)
    assert "Nothing was saved" in body["detail"]
    assert "disk gone" not in response.get_data(as_text=True)


def test_pairing(alice, bob, failing_timeline):
    code = alice.post("/pairing-invites").get_json()["code"]
    assert_clean_503(bob.post("/pairing-invites/accept", json={"code": code}))
    assert count(Couple) == count(CoupleMember) == 0
    assert count(PairingInvite, PairingInvite.used_at.is_not(None)) == 0
    assert count(Notification) == 0


def test_reveal(app, alice, bob, couple, monkeypatch):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    alice.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin), "submit": True},
    )
    events_before = count(TimelineEvent)

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk gone"))

    monkeypatch.setattr(timeline, "record", fail)
    response = bob.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin), "submit": True},
    )
    assert_clean_503(response)
    assert count(Checkin, Checkin.status == "revealed") == 0
    assert count(CheckinResponse, CheckinResponse.submitted_at.is_not(None)) == 1
    assert count(TimelineEvent) == events_before


def test_agreement_consent(alice, bob, couple, monkeypatch):
    agreement = alice.post(
        "/couple/agreements",
        json={"title": "T", "items": [{"category": "plans", "text": "We share plans."}]},
    ).get_json()

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk gone"))

    monkeypatch.setattr(timeline, "record", fail)
    assert_clean_503(bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}))
    assert count(Agreement, Agreement.status == "active") == 0
    assert count(AgreementConsent) == 1  # the proposer's own consent only


def test_conversation_advance(alice, bob, couple, monkeypatch):
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    alice.post(f"/conversations/{conversation['id']}/entries", json={"text": "It hurt."})
    alice.post(f"/conversations/{conversation['id']}/ready")

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk gone"))

    monkeypatch.setattr(timeline, "record", fail)
    assert_clean_503(bob.post(f"/conversations/{conversation['id']}/ready"))
    assert count(Conversation, Conversation.current_step == 0) == 1
    assert count(ConversationReady) == 1


def test_erasure(alice, bob, couple, monkeypatch):
    alice.post("/me/journal", json={"text": "mine"})

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk gone"))

    monkeypatch.setattr(timeline, "record", fail)
    assert_clean_503(alice.delete("/me", json={"password": PASSWORD}))
    assert alice.get("/me").get_json()["email"] == "alice@example.com"
    assert alice.get("/couple").get_json()["status"] == "active"
    assert alice.get("/me/journal").get_json()["items"]


def test_the_schedulers_batch(alice, bob, couple, monkeypatch):
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), tick=False):
        daily_at(alice.login())

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk gone"))

    moment = datetime(2026, 11, 23, 19, 1, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        monkeypatch.setattr(timeline, "event_row", fail)
        with pytest.raises(sa.exc.OperationalError):
            tick()
        db.session.rollback()
        assert count(Checkin) == 0
        monkeypatch.undo()
        assert tick().opened == 1
    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        assert tick().opened == 0
    assert count(Checkin) == 1
