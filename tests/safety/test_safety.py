"""Safety: resources one tap away; a private check that changes nothing the partner sees."""

from __future__ import annotations

import json

import sqlalchemy as sa

from backend.extensions import db
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent
from tests.conftest import build_app
from tests.helpers import answers_for, assert_problem, ok_text


def all_no(user) -> dict[str, str]:
    return {q["key"]: "no" for q in user.get("/me/safety-check").get_json()["questions"]}


def test_resources_need_no_login_and_say_exercises_are_not_for_abuse(api):
    response = api.get("/safety/resources")
    assert response.status_code == 200
    body = response.get_json()
    assert "afraid" in body["note"].lower() or "fear" in body["note"].lower()
    assert body["quiet_exit"] and len(body["resources"]) >= 5


def test_an_operator_can_replace_the_resources(app, tmp_path):
    path = tmp_path / "resources.json"
    path.write_text(
        json.dumps([{"key": "local", "name": "Local line", "description": "x", "region": "XX"}])
    )
    other = build_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTLINE_SAFETY_RESOURCES=str(path))
    body = other.test_client().get("/api/v1/safety/resources").get_json()
    assert [r["key"] for r in body["resources"]] == ["local"]
    assert body["note"]


def test_the_check_is_private_and_a_concern_adds_a_notice_for_that_person(alice, bob, couple):
    before = {
        "couple": bob.get("/couple").get_json(),
        "timeline": bob.get("/couple/timeline").get_json(),
        "notifications": bob.get("/me/notifications").get_json(),
    }
    answers = all_no(alice)
    answers[next(iter(answers))] = "yes"
    response = alice.put("/me/safety-check", json={"answers": answers})
    assert response.status_code == 200
    assert response.get_json()["concern"] is True
    assert response.get_json()["safety_notice"]["reason"] == "check"
    assert alice.get("/me").get_json()["safety_notice"]["reason"] == "check"
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    answered = alice.put(
        f"/checkins/{checkin['id']}/answers", json={"answers": answers_for(checkin)}
    ).get_json()
    assert answered["safety_notice"]["reason"] == "check"
    # nothing Bob can observe changed because of it
    assert bob.get("/couple").get_json() == before["couple"]
    assert bob.get("/me").get_json()["safety_notice"] is None
    assert "safety" not in ok_text(bob.get("/couple/timeline")).lower()
    kinds = {e.kind for e in db.session.scalars(sa.select(TimelineEvent))}
    notes = {n.kind for n in db.session.scalars(sa.select(Notification))}
    assert not any("safety" in k for k in kinds | notes)


def test_a_clear_check_brings_no_notice(alice):
    body = alice.put("/me/safety-check", json={"answers": all_no(alice)}).get_json()
    assert body["concern"] is False and body["safety_notice"] is None and body["result"]


def test_answers_are_checked(alice):
    answers = all_no(alice)
    key = next(iter(answers))
    assert_problem(alice.put("/me/safety-check", json={"answers": {**answers, key: "maybe"}}), 422)
    assert_problem(alice.put("/me/safety-check", json={"answers": {key: "no"}}), 422)
    assert_problem(alice.put("/me/safety-check", json={"answers": {**answers, "x": "no"}}), 422)
    assert alice.get("/me").get_json()["safety_check_completed"] is False


def test_the_check_is_offered_before_the_first_conversation_and_agreement(alice, bob, couple):
    started = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    assert started["safety_notice"]["reason"] == "offer"
    drafted = bob.post(
        "/couple/agreements",
        json={"title": "T", "items": [{"category": "plans", "text": "We share plans."}]},
    ).get_json()
    assert drafted["safety_notice"]["reason"] == "offer"
    alice.put("/me/safety-check", json={"answers": all_no(alice)})
    again = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    assert again["safety_notice"] is None
    assert bob.get(f"/conversations/{started['id']}").get_json()["safety_notice"] is None


def test_words_of_fear_in_an_answer_or_entry_reach_only_their_author(alice, bob, couple):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "after_a_trigger"}).get_json()
    words = "He threatened to hurt me if I told anyone."
    answered = alice.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin, text=words, visibility="private")},
    ).get_json()
    assert answered["safety_notice"]["reason"] == "words"
    alice.put("/me/safety-check", json={"answers": all_no(alice)})
    conversation = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    entry = alice.post(
        f"/conversations/{conversation['id']}/entries", json={"text": "I am scared of him."}
    ).get_json()
    assert entry["safety_notice"]["reason"] == "words"
    seen_by_bob = bob.get(f"/conversations/{conversation['id']}").get_json()
    assert seen_by_bob["safety_notice"] is None


def test_a_broken_resources_file_stops_the_start_not_the_notices(app, tmp_path):
    import pytest

    with pytest.raises(ValueError, match="TRUSTLINE_SAFETY_RESOURCES"):
        build_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTLINE_SAFETY_RESOURCES="/nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"resources": [{"description": "no name"}]}))
    with pytest.raises(ValueError, match="key and a name"):
        build_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTLINE_SAFETY_RESOURCES=str(bad))
