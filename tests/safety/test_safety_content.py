"""The safety check and help lines are right: sourced numbers, the right questions, honest words."""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from backend import clock
from backend.extensions import db
from backend.notifications.models import Notification
from backend.safety import service
from backend.safety.models import SafetyCheck
from backend.timeline.models import TimelineEvent

KINDS = {"emergency", "abuse_support", "crisis", "own_behaviour", "find_a_therapist", "find_local"}


def content() -> dict:
    return service._content()


def all_no(user) -> dict[str, str]:
    return {q["key"]: "no" for q in user.get("/me/safety-check").get_json()["questions"]}


def test_every_help_line_has_a_source_and_a_check_date():
    resources = content()["resources"]
    assert len({r["key"] for r in resources}) == len(resources)
    for r in resources:
        assert r["kind"] in KINDS, r["key"]
        assert r["name"] and r["description"] and r["region"], r["key"]
        assert date.fromisoformat(r["checked_on"]) <= clock.now().date(), r["key"]
        if r["phone"] or r["url"]:
            assert r["sources"], f"{r['key']} names a number or address without a source"
        assert all(re.match(r"https?://\S+$", s) for s in r["sources"]), r["key"]
        if r["phone"]:
            assert re.fullmatch(r"[0-9][0-9 -]*[0-9]", r["phone"]), r["key"]


def test_the_help_lines_cover_who_couples_exercises_leave_out():
    by_kind: dict[str, list[dict]] = {}
    for r in content()["resources"]:
        by_kind.setdefault(r["kind"], []).append(r)
    names = " ".join(r["name"] for r in content()["resources"])
    assert "Galop" in names and "LGBT+" in names
    assert any("Respect Phoneline" in r["name"] for r in by_kind["own_behaviour"])
    # A way to find a therapist that is not a crisis line, said plainly.
    assert by_kind["find_a_therapist"]
    assert all("Not for a crisis" in r["description"] for r in by_kind["find_a_therapist"])
    assert by_kind["emergency"] and by_kind["crisis"]


def test_the_resources_endpoint_shows_sources_and_dates(api):
    body = api.get("/safety/resources").get_json()
    galop = next(r for r in body["resources"] if r["key"] == "uk_galop_lgbt_helpline")
    assert galop["sources"] and galop["checked_on"] == "2026-12-02"
    assert {r["kind"] for r in body["resources"]} <= KINDS


def test_the_threat_question_is_about_hurting_not_leaving():
    questions = {q["key"]: q["text"] for q in content()["check"]["questions"]}
    threat = questions["threatened_to_hurt"]
    assert "hurt" in threat and "leave" not in threat
    assert "threatened" not in questions


def test_the_check_asks_about_sexual_coercion_and_strangulation(alice):
    keys = [q["key"] for q in alice.get("/me/safety-check").get_json()["questions"]]
    assert "pressured_sexually" in keys and "choked_or_strangled" in keys


def test_the_all_clear_does_not_over_reassure(alice):
    body = alice.put("/me/safety-check", json={"answers": all_no(alice)}).get_json()
    clear = body["result"].lower()
    assert "go ahead" not in clear and "nothing here suggests" not in clear
    assert "can't see everything" in clear and "come back" in clear


def test_strangulation_brings_its_own_words_to_its_author_only(alice, bob, couple):
    before = {
        "me": bob.get("/me").get_json(),
        "couple": bob.get("/couple").get_json(),
        "timeline": bob.get("/couple/timeline").get_json(),
        "notifications": bob.get("/me/notifications").get_json(),
    }
    answers = {**all_no(alice), "choked_or_strangled": "yes"}
    body = alice.put("/me/safety-check", json={"answers": answers}).get_json()
    assert body["concern"] is True
    assert "see a doctor" in body["result"]
    assert "see a doctor" in body["safety_notice"]["message"]
    # Nothing Bob can reach changed, and nothing was written that he could.
    assert bob.get("/me").get_json() == before["me"]
    assert bob.get("/couple").get_json() == before["couple"]
    assert bob.get("/couple/timeline").get_json() == before["timeline"]
    assert bob.get("/me/notifications").get_json() == before["notifications"]
    kinds = {e.kind for e in db.session.scalars(sa.select(TimelineEvent))}
    notes = {n.kind for n in db.session.scalars(sa.select(Notification))}
    assert not any("safety" in k for k in kinds | notes)


def test_sexual_pressure_alone_is_a_concern(alice):
    answers = {**all_no(alice), "pressured_sexually": "unsure"}
    body = alice.put("/me/safety-check", json={"answers": answers}).get_json()
    assert body["concern"] is True and body["safety_notice"]["reason"] == "check"
    assert "see a doctor" not in body["result"]


def test_a_check_taken_before_the_new_questions_is_offered_again(alice, couple):
    old = {k: "no" for k in ("afraid_of_partner", "threatened", "hurt_or_pushed")}
    db.session.add(
        SafetyCheck(user_id=alice.user["id"], answers=old, concern=False, completed_at=clock.now())
    )
    db.session.commit()
    view = alice.get("/me/safety-check").get_json()
    # The retired question's answer is not shown back as if it were today's question.
    assert "threatened" not in view["answers"] and view["answers"]["hurt_or_pushed"] == "no"
    started = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    assert started["safety_notice"]["reason"] == "offer"
    assert "new questions" in started["safety_notice"]["message"]
    alice.put("/me/safety-check", json={"answers": all_no(alice)})
    again = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    assert again["safety_notice"] is None


def test_a_retired_question_key_is_refused(alice):
    response = alice.put(
        "/me/safety-check", json={"answers": {**all_no(alice), "threatened": "no"}}
    )
    assert response.status_code == 422
    assert any(field.startswith("answers") for field in response.get_json()["errors"])
