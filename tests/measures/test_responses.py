"""A partner's own questionnaires: taking, saving, submitting, their series; theirs alone."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.measures.models import MeasureResponse
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent
from tests.helpers import assert_problem, ok_text
from tests.measures.helpers import phq9_answers, row_counts, start, submit


def test_a_partner_takes_a_measure_saves_a_draft_and_submits(alice):
    response = start(alice, "gad7")
    assert response["status"] == "open" and response["source"] == "self"
    assert response["score"] is None and response["answers"] == []
    draft = alice.put(
        f"/measure-responses/{response['id']}",
        json={"answers": [{"item": "gad7_1", "value": 2}]},
    ).get_json()
    assert draft["status"] == "open" and draft["answers"] == [{"item": "gad7_1", "value": 2}]
    assert draft["safety_notice"] is None
    answers = [{"item": f"gad7_{n}", "value": 2} for n in range(1, 8)]
    answers.append({"item": "gad7_difficulty", "value": "somewhat_difficult"})
    done = submit(alice, response["id"], answers)
    assert done["status"] == "submitted" and done["submitted_at"]
    assert done["score"] == 14 and done["band"] == {"key": "moderate", "label": "Moderate"}
    listed = alice.get("/me/measure-responses?status=submitted").get_json()
    assert [r["id"] for r in listed["items"]] == [response["id"]]
    assert alice.get("/me/measure-responses?status=open").get_json()["items"] == []


def test_an_unpaired_partner_can_take_a_library_measure(alice):
    response = start(alice, "trust_week")
    assert response["questionnaire"]["kind"] == "trustline_check"


def test_a_submitted_response_is_final(alice):
    response = start(alice)
    submit(alice, response["id"], phq9_answers())
    again = alice.put(
        f"/measure-responses/{response['id']}", json={"answers": phq9_answers(1), "submit": True}
    )
    assert_problem(again, 409)


def test_my_series_holds_each_score_with_its_band(alice):
    for values in ((1,), (3, 3, 1), (3, 3, 3, 3)):
        submit(alice, start(alice)["id"], phq9_answers(*values))
    start(alice)  # open, not scored
    series = alice.get("/me/measures/phq9/scores").get_json()
    assert [(p["score"], p["band"]["key"]) for p in series["points"]] == [
        (1, "minimal"),
        (7, "mild"),
        (12, "moderate"),
    ]
    assert series["measure"]["key"] == "phq9"


def test_bad_answers_are_422_naming_the_field_and_nothing_is_written(alice):
    response = start(alice)
    url = f"/measure-responses/{response['id']}"
    before = row_counts()
    cases = [
        ({"answers": [{"item": "phq9_1", "value": 4}]}, "answers.phq9_1"),
        ({"answers": [{"item": "phq9_1", "value": True}]}, "answers.phq9_1"),
        ({"answers": [{"item": "phq9_1", "value": "2"}]}, "answers.phq9_1"),
        ({"answers": [{"item": "nope", "value": 1}]}, "answers.0.item"),
        ({"answers": [{"item": "phq9_difficulty", "value": "a lot"}]}, "answers.phq9_difficulty"),
        ({"answers": phq9_answers()[:8], "submit": True}, "answers.phq9_9"),
        ({"answers": [], "submit": "yes"}, "submit"),
        ({"answers": [{"item": "phq9_1"}]}, "answers.0.value"),
        ({"answers": [], "extra": 1}, "extra"),
    ]
    for body, field in cases:
        assert_problem(alice.put(url, json=body), 422, field)
    assert row_counts() == before
    assert alice.get(url).get_json()["answers"] == []


def test_taking_an_unknown_measure_is_422_naming_it(alice):
    before = row_counts()
    assert_problem(alice.post("/me/measure-responses", json={"measure": "das"}), 422, "measure")
    assert_problem(alice.post("/me/measure-responses", json={}), 422, "measure")
    assert row_counts() == before


def test_a_response_is_its_authors_alone(alice, bob, couple, carol, counselor):
    response = start(alice)
    submit(alice, response["id"], phq9_answers(2, 2))
    for outsider in (bob, carol, counselor):
        assert_problem(outsider.get(f"/measure-responses/{response['id']}"), 404)
        put = outsider.put(f"/measure-responses/{response['id']}", json={"answers": []})
        assert_problem(put, 404)
    # Bob can't learn that Alice took a measure at all: not in his lists, scores or feed.
    assert bob.get("/me/measure-responses").get_json()["items"] == []
    assert bob.get("/me/measures/phq9/scores").get_json()["points"] == []
    assert response["id"] not in ok_text(bob.get("/me/notifications"))
    assert "PHQ" not in ok_text(bob.get("/couple/timeline"))


def test_the_404_for_someone_elses_response_is_the_404_for_no_response(alice, bob, couple):
    response = start(alice)
    theirs = bob.get(f"/measure-responses/{response['id']}").get_json()
    missing = bob.get("/measure-responses/no-such-response-id00").get_json()
    assert theirs["detail"] == missing["detail"]


def test_a_risk_answer_brings_the_safety_resources_at_once_to_the_author_alone(alice, bob, couple):
    response = start(alice)
    notes_before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    events_before = db.session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent))
    # A draft is enough: the answer is on the screen now.
    saved = alice.put(
        f"/measure-responses/{response['id']}",
        json={"answers": [{"item": "phq9_9", "value": 1}]},
    ).get_json()
    notice = saved["safety_notice"]
    assert notice is not None and notice["resources"]
    assert "hurting yourself" in notice["message"]
    # Nothing of it reaches anyone: no notification, no timeline event.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == notes_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TimelineEvent)) == events_before
    assert "safety" not in ok_text(bob.get("/me/notifications")).lower()
    done = submit(alice, response["id"], phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 2))
    assert done["safety_notice"] is not None


def test_no_risk_answer_no_notice(alice):
    response = start(alice)
    done = submit(alice, response["id"], phq9_answers(3, 3, 3, 3, 3, 3, 3, 3, 0))
    assert done["safety_notice"] is None


def test_words_of_fear_in_a_short_text_bring_the_notice(alice):
    response = start(alice, "trust_week")
    saved = alice.put(
        f"/measure-responses/{response['id']}",
        json={"answers": [{"item": "small_step", "value": "I am afraid of what he will do."}]},
    ).get_json()
    assert saved["safety_notice"] is not None


def test_my_responses_pages_with_a_cursor(alice):
    ids = [start(alice, "gad7")["id"] for _ in range(3)]
    first = alice.get("/me/measure-responses?limit=2").get_json()
    second = alice.get(f"/me/measure-responses?limit=2&cursor={first['next_cursor']}").get_json()
    seen = [r["id"] for r in first["items"] + second["items"]]
    assert sorted(seen) == sorted(ids) and second["next_cursor"] is None
    assert_problem(alice.get("/me/measure-responses?status=lost"), 422, "status")


def test_responses_are_stored_per_user_never_per_couple(alice, bob, couple):
    start(alice)
    columns = set(MeasureResponse.__table__.columns.keys())
    assert "couple_id" not in columns
