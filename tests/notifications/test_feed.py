"""The in-app feed and push devices."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.notifications.models import Device
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


def test_devices_register_once_and_the_token_is_not_echoed(alice):
    body = {"platform": "ios", "token": "apns-token-0123456789"}
    first = alice.post("/me/devices", json=body)
    again = alice.post("/me/devices", json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert "apns-token" not in first.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == 1


def test_bad_devices_are_named(alice):
    assert_problem(
        alice.post("/me/devices", json={"platform": "pager", "token": "x" * 10}), 422, "platform"
    )
    assert_problem(
        alice.post("/me/devices", json={"platform": "ios", "token": "short"}), 422, "token"
    )


def test_only_the_owner_removes_a_device(alice, bob):
    device = alice.post("/me/devices", json={"platform": "android", "token": "fcm-token-123456"})
    device_id = device.get_json()["id"]
    assert_problem(bob.delete(f"/me/devices/{device_id}"), 404)
    assert alice.delete(f"/me/devices/{device_id}").status_code == 204
    assert_problem(alice.delete(f"/me/devices/{device_id}"), 404)


def test_logging_out_stops_pushes_to_that_phone(api, alice):
    from tests.helpers import PASSWORD

    alice.post("/me/devices", json={"platform": "ios", "token": "phone-token-on-logout"})
    other_login = api.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    api.post(
        "/me/devices",
        json={"platform": "web", "token": "browser-token-stays"},
        headers={"Authorization": f"Bearer {other_login.get_json()['access_token']}"},
    )
    alice.post("/auth/logout")
    tokens = db.session.scalars(sa.select(Device.token)).all()
    assert tokens == ["browser-token-stays"]
