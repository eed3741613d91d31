"""Reading and changing the couple."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers import assert_problem


def test_get_couple_shows_both_partners_without_their_emails(alice, bob, couple):
    body = alice.get("/couple").get_json()
    assert set(body) == {"id", "status", "timezone", "name", "members", "created_at", "ended_at"}
    assert {m["id"] for m in body["members"]} == {alice.user["id"], bob.user["id"]}
    assert set(body["members"][0]) == {"id", "display_name", "joined_at"}
    assert "@" not in str(body)
    assert bob.get("/couple").get_json() == body


def test_not_yet_paired_is_404(alice):
    body = assert_problem(alice.get("/couple"), 404)
    assert "Pair" in body["detail"]


def test_patch_sets_timezone_and_name_and_tells_both(alice, bob, couple):
    response = bob.patch("/couple", json={"timezone": "America/New_York", "name": "Us"})
    assert response.status_code == 200
    assert alice.get("/couple").get_json()["timezone"] == "America/New_York"
    assert alice.get("/couple").get_json()["name"] == "Us"
    told = db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "couple_updated")
    ).all()
    assert sorted(told) == sorted([alice.user["id"], bob.user["id"]])
    kinds = [e["kind"] for e in alice.get("/couple/timeline").get_json()["items"]]
    assert kinds[0] == "couple_updated"


def test_patch_with_nothing_new_records_nothing(alice, couple):
    alice.patch("/couple", json={"timezone": alice.get("/couple").get_json()["timezone"]})
    kinds = [e["kind"] for e in alice.get("/couple/timeline").get_json()["items"]]
    assert kinds == ["paired"]


def test_invalid_timezone_is_422_and_nothing_changes(alice, couple):
    body = assert_problem(
        alice.patch("/couple", json={"timezone": "Europe/Atlantis"}), 422, "timezone"
    )
    assert "Atlantis" not in body["errors"]["timezone"][0]  # what was sent is never echoed
    assert alice.get("/couple").get_json()["timezone"] == "UTC"


def test_unknown_fields_and_long_names_are_422(alice, couple):
    assert_problem(alice.patch("/couple", json={"status": "ended"}), 422, "status")
    assert_problem(alice.patch("/couple", json={"name": "x" * 81}), 422, "name")
    assert alice.get("/couple").get_json()["status"] == "active"


def test_a_blank_name_clears_it(alice, couple):
    assert alice.patch("/couple", json={"name": "Us"}).get_json()["name"] == "Us"
    assert alice.patch("/couple", json={"name": "   "}).get_json()["name"] is None
