"""The tick ends agreements on their end date and reminds of review dates, once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from backend.timeline.models import TimelineEvent

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def active_agreement(alice, bob, **fields):
    with time_machine.travel(START, tick=False):
        agreement = (
            alice.login()
            .post(
                "/couple/agreements",
                json={
                    "title": "For now",
                    "items": [{"category": "plans", "text": "We share plans."}],
                    **fields,
                },
            )
            .get_json()
        )
        bob.login().post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
    return agreement


def test_an_agreement_ends_after_its_end_date_and_both_are_told(alice, bob, couple):
    agreement = active_agreement(alice, bob, ends_on="2026-12-01")
    with time_machine.travel(datetime(2026, 12, 1, 22, 0, tzinfo=UTC), tick=False):
        assert tick().agreements_ended == 0
    with time_machine.travel(datetime(2026, 12, 2, 0, 30, tzinfo=UTC), tick=False):
        assert tick().agreements_ended == 1
        assert tick().agreements_ended == 0
        status = alice.login().get(f"/agreements/{agreement['id']}").get_json()["status"]
    assert status == "ended"
    assert count(Notification, Notification.kind == "agreement_ended") == 2


def test_the_end_date_counts_where_the_couple_lives(alice, bob, couple):
    with time_machine.travel(START, tick=False):
        alice.login().patch("/couple", json={"timezone": "Pacific/Auckland"})
    active_agreement(alice, bob, ends_on="2026-12-01")
    # 2026-12-01 12:30 UTC is already 2 December in Auckland
    with time_machine.travel(datetime(2026, 12, 1, 12, 30, tzinfo=UTC), tick=False):
        assert tick().agreements_ended == 1


def test_review_dates_remind_both_once(alice, bob, couple):
    review = date(2026, 12, 10)
    active_agreement(
        alice,
        bob,
        review_on=review.isoformat(),
        items=[
            {"category": "plans", "text": "We share plans.", "review_on": "2026-12-20"},
        ],
    )
    with time_machine.travel(datetime(2026, 12, 9, 12, 0, tzinfo=UTC), tick=False):
        assert tick().reviews == 0
    with time_machine.travel(datetime(2026, 12, 10, 12, 0, tzinfo=UTC), tick=False):
        assert tick().reviews == 1
        assert tick().reviews == 0
    with time_machine.travel(datetime(2026, 12, 20, 12, 0, tzinfo=UTC), tick=False):
        assert tick().reviews == 1
    assert count(TimelineEvent, TimelineEvent.kind == "agreement_review_due") == 2
    assert count(Notification, Notification.kind == "agreement_review_due") == 4
