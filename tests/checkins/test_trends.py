"""Trends: my ratings always; my partner's only where shared and revealed."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from backend import clock
from tests.helpers import answers_for, assert_problem


def rated_checkin(alice, bob, *, alice_value, bob_value, bob_visibility="shared", bob_submits=True):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    scale = next(p for p in checkin["prompts"] if p["kind"] == "scale")
    for user, value, visibility, submit in (
        (alice, alice_value, "shared", True),
        (bob, bob_value, bob_visibility, bob_submits),
    ):
        answers = answers_for(checkin)
        for answer in answers:
            if answer["prompt"] == scale["key"]:
                answer.update(value=value, visibility=visibility)
        response = user.put(
            f"/checkins/{checkin['id']}/answers", json={"answers": answers, "submit": submit}
        )
        assert response.status_code == 200
    return scale["key"]


def series(user, prompt, **params):
    query = "&".join(f"{k}={v}" for k, v in {"prompt": prompt, **params}.items())
    response = user.get(f"/couple/trends?{query}")
    assert response.status_code == 200, response.get_json()
    return {
        s["display_name"]: [p["value"] for p in s["points"]] for s in response.get_json()["series"]
    }


def test_both_series_when_shared_and_revealed(alice, bob, couple):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        key = rated_checkin(alice, bob, alice_value=4, bob_value=6)
    with time_machine.travel(start + timedelta(days=1), tick=False):
        alice.login(), bob.login()
        rated_checkin(alice, bob, alice_value=7, bob_value=8)
        assert series(alice, key) == {"Alice": [4, 7], "Bob": [6, 8]}


def test_private_ratings_of_the_partner_are_left_out(alice, bob, couple):
    key = rated_checkin(alice, bob, alice_value=5, bob_value=2, bob_visibility="private")
    assert series(alice, key) == {"Alice": [5], "Bob": []}
    assert series(bob, key) == {"Bob": [2], "Alice": [5]}


def test_unrevealed_ratings_of_the_partner_are_left_out(alice, bob, couple):
    key = rated_checkin(alice, bob, alice_value=5, bob_value=9, bob_submits=False)
    assert series(bob, key) == {"Bob": [], "Alice": []}  # Bob's own draft is not submitted yet
    assert series(alice, key) == {"Alice": [5], "Bob": []}


def test_the_viewer_comes_first_and_since_filters(alice, bob, couple):
    key = rated_checkin(alice, bob, alice_value=3, bob_value=3)
    response = bob.get(f"/couple/trends?prompt={key}").get_json()
    assert response["series"][0]["is_me"] and response["series"][0]["display_name"] == "Bob"
    assert response["prompt"]["key"] == key and response["prompt"]["max"] == 10
    later = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert series(alice, key, since=later) == {"Alice": [], "Bob": []}


def test_prompt_must_be_a_known_scale_prompt(alice, couple):
    assert_problem(alice.get("/couple/trends"), 422, "prompt")
    assert_problem(alice.get("/couple/trends?prompt=unknown"), 422, "prompt")
    text_prompt = next(p for p in alice.get("/prompts").get_json() if p["kind"] == "text")
    assert_problem(alice.get(f"/couple/trends?prompt={text_prompt['key']}"), 422, "prompt")
    assert_problem(alice.get("/couple/trends?prompt=x&since=yesterday"), 422, "since")
