"""Export: everything about me, and of my partner only what they shared."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from backend import clock
from tests.helpers import answers_for, assert_problem

MINE_PRIVATE = "my own private answer"
THEIRS_PRIVATE = "bob's private answer"
THEIRS_SHARED = "bob's shared answer"


def test_export_holds_my_data_and_only_what_my_partner_shared(alice, bob, couple):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "after_a_trigger"}).get_json()
    alice.put(
        f"/checkins/{checkin['id']}/answers",
        json={
            "answers": answers_for(checkin, text=MINE_PRIVATE, visibility="private"),
            "submit": True,
        },
    )
    bobs = answers_for(checkin, text=THEIRS_SHARED)
    text_answers = [a for a in bobs if a["value"] == THEIRS_SHARED]
    text_answers[0].update(value=THEIRS_PRIVATE, visibility="private")
    bob.put(f"/checkins/{checkin['id']}/answers", json={"answers": bobs, "submit": True})
    alice.post("/me/journal", json={"text": "journal words"})
    alice.post("/me/devices", json={"platform": "web", "token": "web-push-token-1"})
    response = alice.get("/me/export")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    body = response.get_json()
    assert body["account"]["email"] == "alice@example.com"
    assert MINE_PRIVATE in text and THEIRS_SHARED in text
    assert THEIRS_PRIVATE not in text
    assert "bob@example.com" not in text
    assert body["journal"][0]["text"] == "journal words"
    assert body["devices"][0]["token"] == "web-push-token-1"
    assert body["couples"][0]["timeline"] and body["notifications"] is not None
    assert body["exported_at"].endswith("Z")


def test_export_needs_a_recent_password_login(alice):
    with time_machine.travel(clock.now() + timedelta(minutes=6), tick=False):
        assert_problem(alice.get("/me/export"), 401)
        assert alice.login().get("/me/export").status_code == 200
