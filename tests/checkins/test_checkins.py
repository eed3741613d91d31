"""Opening check-ins and answering them on one's own."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.checkins.models import Answer, Checkin
from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers import answers_for, assert_problem


def open_checkin(user, prompt_set="weekly_trust_checkin"):
    response = user.post("/couple/checkins", json={"prompt_set": prompt_set})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def put_answers(user, checkin, answers, submit=False):
    return user.put(
        f"/checkins/{checkin['id']}/answers", json={"answers": answers, "submit": submit}
    )


def prompt_of_kind(checkin, kind):
    return next(p for p in checkin["prompts"] if p["kind"] == kind)


def test_opening_a_checkin_shows_its_prompts_and_tells_the_partner(alice, bob, couple):
    checkin = open_checkin(alice)
    assert checkin["status"] == "open" and checkin["source"] == "manual"
    assert checkin["prompt_set"] == "weekly_trust_checkin"
    assert 8 <= len(checkin["prompts"]) <= 10
    assert checkin["my_response"] == {"submitted_at": None, "answers": []}
    assert checkin["partner"]["submitted"] is False and checkin["partner"]["answers"] is None
    told = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "checkin_opened")
    ).all()
    assert told == [bob.user["id"]]
    kinds = [e["kind"] for e in bob.get("/couple/timeline").get_json()["items"]]
    assert kinds[0] == "checkin_opened"


def test_unknown_prompt_set_is_named_and_nothing_is_opened(alice, couple):
    assert_problem(alice.post("/couple/checkins", json={"prompt_set": "nope"}), 422, "prompt_set")
    assert_problem(alice.post("/couple/checkins", json={}), 422, "prompt_set")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Checkin)) == 0


def test_the_answer_to_a_save_is_what_reading_the_checkin_shows_next(alice, bob, couple):
    checkin = open_checkin(alice)
    answers = list(reversed(answers_for(checkin, text="saved out of order")))
    for submit in (False, True):
        saved = put_answers(alice, checkin, answers, submit=submit)
        assert saved.status_code == 200, saved.get_json()
        body = saved.get_json()
        body.pop("safety_notice", None)
        assert body == alice.get(f"/checkins/{checkin['id']}").get_json()
    revealed = put_answers(bob, checkin, answers_for(checkin), submit=True).get_json()
    revealed.pop("safety_notice", None)
    assert revealed["status"] == "revealed"
    assert revealed == bob.get(f"/checkins/{checkin['id']}").get_json()


def test_answers_can_change_until_submitted(alice, bob, couple):
    checkin = open_checkin(alice, "daily_pulse")
    first = put_answers(alice, checkin, answers_for(checkin, text="first draft"))
    assert first.status_code == 200
    assert first.get_json()["my_response"]["submitted_at"] is None
    second = put_answers(alice, checkin, answers_for(checkin, text="second draft"), submit=True)
    body = second.get_json()
    assert body["my_response"]["submitted_at"].endswith("Z")
    assert body["i_submitted"] is True
    assert body["my_response"]["answers"] == answers_for(checkin, text="second draft")
    again = put_answers(alice, checkin, answers_for(checkin), submit=True)
    assert_problem(again, 409)


def test_before_reveal_the_partner_sees_only_that_i_answered(alice, bob, couple):
    checkin = open_checkin(alice)
    put_answers(alice, checkin, answers_for(checkin, text="only mine for now"), submit=True)
    seen_by_bob = bob.get(f"/checkins/{checkin['id']}").get_json()
    assert seen_by_bob["partner"]["submitted"] is True
    assert seen_by_bob["partner"]["answers"] is None
    assert seen_by_bob["partner_submitted"] is True
    assert "only mine for now" not in str(seen_by_bob)


def test_when_both_submitted_the_checkin_is_revealed_to_both(alice, bob, couple):
    checkin = open_checkin(alice)
    put_answers(alice, checkin, answers_for(checkin, text="alice words"), submit=True)
    revealed = put_answers(bob, checkin, answers_for(checkin, text="bob words"), submit=True)
    body = revealed.get_json()
    assert body["status"] == "revealed" and body["revealed_at"].endswith("Z")
    assert "alice words" in str(body["partner"]["answers"])
    alice_view = alice.get(f"/checkins/{checkin['id']}").get_json()
    assert "bob words" in str(alice_view["partner"]["answers"])
    kinds = [e["kind"] for e in alice.get("/couple/timeline").get_json()["items"]]
    assert kinds.count("checkin_revealed") == 1
    told = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "checkin_revealed")
    ).all()
    assert sorted(told) == sorted([alice.user["id"], bob.user["id"]])


def test_private_answers_stay_with_their_author_after_reveal(alice, bob, couple):
    checkin = open_checkin(alice, "daily_pulse")
    mine = answers_for(checkin, text="a private thought")
    mine[0]["visibility"] = "private"
    put_answers(alice, checkin, mine, submit=True)
    put_answers(bob, checkin, answers_for(checkin), submit=True)
    bob_view = bob.get(f"/checkins/{checkin['id']}").get_json()
    shown = {a["prompt"] for a in bob_view["partner"]["answers"]}
    assert mine[0]["prompt"] not in shown
    alice_view = alice.get(f"/checkins/{checkin['id']}").get_json()
    own = {a["prompt"]: a for a in alice_view["my_response"]["answers"]}
    assert own[mine[0]["prompt"]]["visibility"] == "private"


def test_each_value_is_checked_against_its_prompt(alice, couple):
    checkin = open_checkin(alice)
    scale = prompt_of_kind(checkin, "scale")
    cases = [
        {"prompt": scale["key"], "value": scale["max"] + 1},
        {"prompt": scale["key"], "value": "ten"},
        {"prompt": scale["key"], "value": True},
    ]
    for bad in cases:
        body = assert_problem(put_answers(alice, checkin, [bad]), 422, f"answers.{scale['key']}")
        assert str(scale["max"]) in body["errors"][f"answers.{scale['key']}"][0]
    text = prompt_of_kind(checkin, "text")
    too_long = {"prompt": text["key"], "value": "x" * (text["max_length"] + 1)}
    assert_problem(put_answers(alice, checkin, [too_long]), 422, f"answers.{text['key']}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 0


def test_choice_values_must_be_options(alice, couple, app):
    checkin = None
    for prompt_set in [s["key"] for s in alice.get("/prompt-sets").get_json()]:
        candidate = open_checkin(alice, prompt_set)
        kinds = {p["kind"] for p in candidate["prompts"]}
        if {"choice", "multi_choice"} <= kinds:
            checkin = candidate
            break
    assert checkin, "some prompt set has choice and multi_choice prompts"
    choice = prompt_of_kind(checkin, "choice")
    multi = prompt_of_kind(checkin, "multi_choice")
    option = multi["options"][0]["value"]
    assert_problem(
        put_answers(alice, checkin, [{"prompt": choice["key"], "value": "not_an_option"}]),
        422,
        f"answers.{choice['key']}",
    )
    assert_problem(
        put_answers(alice, checkin, [{"prompt": multi["key"], "value": [option, option]}]),
        422,
        f"answers.{multi['key']}",
    )
    assert_problem(
        put_answers(alice, checkin, [{"prompt": multi["key"], "value": []}]),
        422,
        f"answers.{multi['key']}",
    )


def test_unknown_or_repeated_prompts_and_bad_shapes_are_named(alice, couple):
    checkin = open_checkin(alice, "daily_pulse")
    assert_problem(
        put_answers(alice, checkin, [{"prompt": "nope", "value": 1}]), 422, "answers.0.prompt"
    )
    twice = answers_for(checkin)[:1] * 2
    assert_problem(put_answers(alice, checkin, twice), 422, f"answers.{twice[0]['prompt']}")
    bad_visibility = [{**answers_for(checkin)[0], "visibility": "secret"}]
    assert_problem(put_answers(alice, checkin, bad_visibility), 422, "answers.0.visibility")
    assert_problem(put_answers(alice, checkin, [], submit=True), 422, "answers")
    assert_problem(alice.put(f"/checkins/{checkin['id']}/answers", json={}), 422, "answers")


def test_a_closed_checkin_cannot_be_answered(alice, couple):
    checkin = open_checkin(alice, "daily_pulse")
    with time_machine.travel(clock.now() + timedelta(days=8), tick=False):
        alice.login()
        assert_problem(put_answers(alice, checkin, answers_for(checkin)), 409)


def test_an_ended_couples_checkins_are_read_only(alice, bob, couple):
    checkin = open_checkin(alice, "daily_pulse")
    bob.post("/couple/leave", json={})
    assert_problem(put_answers(alice, checkin, answers_for(checkin)), 409)
    assert_problem(alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}), 409)
    assert alice.get(f"/checkins/{checkin['id']}").status_code == 200


def test_list_is_newest_first_paginated_and_filtered(alice, bob, couple):
    ids = []
    for n in range(5):
        with time_machine.travel(clock.now() + timedelta(minutes=n), tick=False):
            ids.append(open_checkin(alice, "daily_pulse")["id"])
    first = alice.get("/couple/checkins?limit=3").get_json()
    second = alice.get(f"/couple/checkins?limit=3&cursor={first['next_cursor']}").get_json()
    listed = [c["id"] for c in first["items"] + second["items"]]
    assert listed == list(reversed(ids))
    assert second["next_cursor"] is None
    assert "prompts" not in first["items"][0]
    assert alice.get("/couple/checkins?status=revealed").get_json()["items"] == []
    assert_problem(alice.get("/couple/checkins?status=lost"), 422, "status")
