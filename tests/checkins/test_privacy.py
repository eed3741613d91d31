"""A private answer never reaches the partner: no response, timeline event or notification."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent
from tests.helpers import answers_for, ok, ok_json

SECRET = "I checked the phone again and I am ashamed of it"


def test_a_private_answer_never_reaches_the_partner(alice, bob, couple):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "after_a_trigger"}).get_json()
    answers = answers_for(checkin)
    text_answer = next(a for a in answers if isinstance(a["value"], str) and " " in a["value"])
    text_answer.update(value=SECRET, visibility="private")
    scale_answer = next(a for a in answers if isinstance(a["value"], int))
    scale_answer.update(value=3, visibility="private")
    ok(alice.put(f"/checkins/{checkin['id']}/answers", json={"answers": answers, "submit": True}))
    revealed = ok_json(
        bob.put(
            f"/checkins/{checkin['id']}/answers",
            json={"answers": answers_for(checkin), "submit": True},
        )
    )
    assert revealed["status"] == "revealed"

    bob_sees = [
        bob.get(f"/checkins/{checkin['id']}"),
        bob.get("/couple/checkins"),
        bob.get(f"/couple/trends?prompt={scale_answer['prompt']}"),
        bob.get("/couple/timeline"),
        bob.get("/couple"),
    ]
    for response in bob_sees:
        assert response.status_code == 200
        assert SECRET not in response.get_data(as_text=True)
    bob_trend = bob_sees[2].get_json()["series"]
    alice_series = next(s for s in bob_trend if not s["is_me"])
    assert alice_series["points"] == []

    stored_elsewhere = [e.summary for e in db.session.scalars(sa.select(TimelineEvent))] + [
        f"{n.title} {n.body}" for n in db.session.scalars(sa.select(Notification))
    ]
    assert all(SECRET not in text for text in stored_elsewhere)
    # and the author still has it
    assert SECRET in alice.get(f"/checkins/{checkin['id']}").get_data(as_text=True)


def test_private_answers_are_never_logged(alice, bob, couple, caplog):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    answers = answers_for(checkin, visibility="private", text=SECRET)
    with caplog.at_level("DEBUG"):
        response = alice.put(
            f"/checkins/{checkin['id']}/answers", json={"answers": answers, "submit": True}
        )
    assert response.status_code == 200, response.get_json()
    assert SECRET in response.get_data(as_text=True)
    assert caplog.text
    assert SECRET not in caplog.text
