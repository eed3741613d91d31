"""What saving answers reads: the check-in and the caller's safety check come with the session
check, and neither the earlier answers nor the partner's are read (they are replaced, or not
shown before the reveal)."""

from __future__ import annotations

import re

from tests.helpers import answers_for
from tests.test_query_counts import counting

READS_ANSWERS = re.compile(r"\b(FROM|JOIN) answers\b")


def reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_a_draft_save_reads_no_answers_and_finds_the_checkin_with_the_session(alice, bob, couple):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    url = f"/checkins/{checkin['id']}/answers"
    bob.put(url, json={"answers": answers_for(checkin, text="Bob's words."), "submit": False})
    alice.put(url, json={"answers": answers_for(checkin, text="First words."), "submit": False})

    with counting() as statements:
        saved = alice.put(
            url, json={"answers": answers_for(checkin, text="Second words."), "submit": False}
        )

    assert saved.status_code == 200
    assert not [s for s in reads(statements) if READS_ANSWERS.search(s)]
    [session_check] = [s for s in reads(statements) if "auth_sessions" in s]
    assert "checkins" in session_check and "safety_checks" in session_check
    assert [s for s in reads(statements) if "safety_checks" in s] == [session_check]
    # what the answer shows is what was written, once, and nothing of Bob's
    texts = [a["value"] for a in saved.get_json()["my_response"]["answers"]]
    assert "Second words." in texts and "First words." not in texts
    assert saved.get_json()["partner"]["answers"] is None
    again = alice.get(f"/checkins/{checkin['id']}").get_json()
    assert again["my_response"] == saved.get_json()["my_response"]


def test_the_reveal_still_shows_the_partners_shared_answers(alice, bob, couple):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    url = f"/checkins/{checkin['id']}/answers"
    bob.put(url, json={"answers": answers_for(checkin, text="Bob's words."), "submit": True})

    revealed = alice.put(
        url, json={"answers": answers_for(checkin, text="Alice's words."), "submit": True}
    ).get_json()

    assert revealed["status"] == "revealed"
    assert "Bob's words." in [a["value"] for a in revealed["partner"]["answers"]]
    assert "Alice's words." in [a["value"] for a in revealed["my_response"]["answers"]]
    assert bob.get(f"/checkins/{checkin['id']}").get_json()["partner"]["answers"] == [
        a for a in revealed["my_response"]["answers"] if a["visibility"] == "shared"
    ]
