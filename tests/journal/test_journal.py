"""The private journal: its author's alone."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.journal.models import JournalEntry
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent
from tests.counseling.helpers import link
from tests.helpers import assert_problem, ok_text

SECRET = "things I can only write down here"


def write(user, text=SECRET, **extra):
    response = user.post("/me/journal", json={"text": text, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_write_read_edit_delete(alice):
    entry = write(alice, title="Monday")
    assert entry["text"] == SECRET and entry["title"] == "Monday"
    assert entry["created_at"].endswith("Z") and entry["safety_notice"] is None
    assert alice.get(f"/me/journal/{entry['id']}").get_json()["text"] == SECRET
    edited = alice.patch(f"/me/journal/{entry['id']}", json={"text": "calmer now"}).get_json()
    assert edited["text"] == "calmer now" and edited["title"] == "Monday"
    assert [e["id"] for e in alice.get("/me/journal").get_json()["items"]] == [entry["id"]]
    assert alice.delete(f"/me/journal/{entry['id']}").status_code == 204
    assert_problem(alice.get(f"/me/journal/{entry['id']}"), 404)


def test_never_seen_by_the_partner_a_counselor_or_on_the_timeline(alice, bob, couple, counselor):
    link(alice, bob, counselor, "shared_content")
    entry = write(alice)
    for other in (bob, counselor):
        assert_problem(other.get(f"/me/journal/{entry['id']}"), 404)
        assert_problem(other.patch(f"/me/journal/{entry['id']}", json={"text": "x"}), 404)
        assert_problem(other.delete(f"/me/journal/{entry['id']}"), 404)
    assert bob.get("/me/journal").get_json()["items"] == []
    # The journal is a partner's: there is none for a counselor's account.
    assert_problem(counselor.get("/me/journal"), 404)
    assert_problem(counselor.post("/me/journal", json={"text": "x"}), 404)
    seen = [
        bob.get("/couple/timeline"),
        bob.get("/me/notifications"),
        counselor.get(f"/counselor/couples/{couple['id']}"),
    ]
    assert [r.status_code for r in seen] == [200, 200, 200]
    assert all(SECRET not in r.get_data(as_text=True) for r in seen)
    stored = [e.summary for e in db.session.scalars(sa.select(TimelineEvent))] + [
        n.body for n in db.session.scalars(sa.select(Notification))
    ]
    assert all(SECRET not in text for text in stored)


def test_bad_input_is_named_and_nothing_is_written(alice):
    assert_problem(alice.post("/me/journal", json={}), 422, "text")
    assert_problem(alice.post("/me/journal", json={"text": "  "}), 422, "text")
    assert_problem(alice.post("/me/journal", json={"text": "x" * 10_001}), 422, "text")
    assert_problem(alice.post("/me/journal", json={"text": "x", "mood": 3}), 422, "mood")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 0


def test_words_of_fear_get_a_notice_for_the_author_only(alice, bob, couple):
    entry = write(alice, text="Last night I felt scared of my partner again.")
    assert entry["safety_notice"]["reason"] == "words"
    assert entry["safety_notice"]["resources"]
    assert bob.get("/me").get_json()["safety_notice"] is None
    assert "scared" not in ok_text(bob.get("/me/notifications"))
