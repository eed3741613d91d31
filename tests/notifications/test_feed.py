"""The in-app feed (devices are in test_devices.py)."""

from __future__ import annotations

from tests.helpers import assert_problem


def test_the_feed_lists_my_notifications_newest_first(alice, bob, couple):
    bob.patch("/couple", json={"name": "Us"})
    bob.post("/couple/checkins", json={"prompt_set": "daily_pulse"})
    feed = alice.get("/me/notifications").get_json()
    kinds = [n["kind"] for n in feed["items"]]
    assert kinds[:3] == ["checkin_opened", "couple_updated", "paired"]
    assert feed["unread_count"] == 3
    assert feed["items"][0]["subject"]["type"] == "checkin"


def test_marking_read_by_id_and_all(alice, bob, couple):
    bob.patch("/couple", json={"name": "Us"})
    first = alice.get("/me/notifications").get_json()["items"][0]
    marked = alice.post("/me/notifications/read", json={"ids": [first["id"]]}).get_json()
    assert marked == {"marked": 1, "unread_count": 1}
    unread = alice.get("/me/notifications?unread=true").get_json()["items"]
    assert first["id"] not in [n["id"] for n in unread]
    assert alice.post("/me/notifications/read", json={"all": True}).get_json()["unread_count"] == 0
    read = alice.get("/me/notifications?unread=false").get_json()["items"]
    assert len(read) == 2


def test_someone_elses_notifications_cannot_be_marked(alice, bob, couple):
    bob.patch("/couple", json={"name": "Us"})
    alices = alice.get("/me/notifications").get_json()["items"][0]["id"]
    assert bob.post("/me/notifications/read", json={"ids": [alices]}).get_json()["marked"] == 0
    assert alice.get("/me/notifications").get_json()["unread_count"] == 2


def test_marking_needs_ids_or_all(alice):
    assert_problem(alice.post("/me/notifications/read", json={}), 422, "ids")
    assert_problem(alice.post("/me/notifications/read", json={"ids": "x"}), 422, "ids")
    assert_problem(alice.get("/me/notifications?unread=maybe"), 422, "unread")
