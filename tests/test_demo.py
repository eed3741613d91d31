"""`trustline demo`: eight weeks of a couple's history, made through the real services."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from backend.demo import ALEX, COUNSELOR, PASSWORD, SAM, build_demo, describe
from backend.extensions import db
from backend.models import Checkin, JournalEntry, TimelineEvent, User
from tests.helpers import ApiClient


def login(app, email: str) -> ApiClient:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return ApiClient(client, response.get_json())


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (User, Checkin, TimelineEvent, JournalEntry)
    )


def test_the_demo_tells_a_story_and_running_it_twice_doubles_nothing(app):
    first = build_demo()
    assert first.created
    before = counts()
    again = build_demo()
    assert not again.created and again.couple_id == first.couple_id
    assert counts() == before

    kinds = Counter(db.session.scalars(sa.select(TimelineEvent.kind)))
    assert kinds["paired"] == 1 and kinds["counselor_linked"] == 1
    assert kinds["checkin_revealed"] >= 6 and kinds["checkin_missed"] >= 2
    assert kinds["agreement_activated"] == 2 and kinds["agreement_amended"] == 1
    assert kinds["conversation_paused"] == 1 and kinds["conversation_completed"] == 1
    assert kinds["exercise_assigned"] == 2 and kinds["exercise_completed"] >= 1

    sam = login(app, SAM)
    trend = sam.get("/couple/trends?prompt=felt_safe_week").get_json()
    mine = [p["value"] for p in trend["series"][0]["points"]]
    assert len(mine) == 8 and mine[-1] > mine[0]
    assert len(sam.get("/me/journal").get_json()["items"]) == 2
    counselor = login(app, COUNSELOR)
    [card] = counselor.get("/counselor/couples").get_json()
    assert card["progress"]["checkins_completed_4w"] >= 3
    assert login(app, ALEX).get("/couple").get_json()["name"] == "Sam & Alex"


def test_the_printed_commands_work(app):
    report = build_demo()
    text = describe(report)
    assert SAM in text and PASSWORD in text
    sam = login(app, SAM)  # the first command
    timeline = sam.get("/couple/timeline?limit=5")  # the second
    trends = sam.get("/couple/trends?prompt=felt_safe_week")  # the third
    assert timeline.status_code == trends.status_code == 200
    assert len(timeline.get_json()["items"]) == 5
