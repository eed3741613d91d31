"""Push devices: adding one widens what leaves the account, so it needs a fresh login and
tells the account holder; listing and removing them never needs one."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.extensions import db
from backend.notifications.models import Device, Notification
from tests.helpers import PASSWORD, ApiClient, assert_problem

PHONE = {"platform": "ios", "token": "alice-phone-apns-0001", "label": "My phone"}


def stale(person: ApiClient) -> ApiClient:
    """The same login after a refresh, as an app holds it most of the time: never fresh."""
    response = person.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": person.tokens["refresh_token"]}
    )
    assert response.status_code == 200, response.get_json()
    return ApiClient(person.client, response.get_json())


def another_login(app, person: ApiClient) -> ApiClient:
    """A second, fresh password login of the same account, from another client."""
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"email": person.user["email"], "password": PASSWORD}
    )
    assert response.status_code == 200, response.get_json()
    return ApiClient(client, response.get_json())


def device_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Device))


def notices(person: ApiClient) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification).where(
                Notification.user_id == person.user["id"], Notification.kind == "device_added"
            )
        )
    )


def test_a_fresh_login_adds_a_device_and_the_feed_says_so(alice):
    response = alice.post("/me/devices", json=PHONE)
    assert response.status_code == 201
    device = response.get_json()
    assert device["platform"] == "ios" and device["label"] == "My phone"
    assert device["created_at"].endswith("Z") and device["last_used_at"] is None
    assert "apns" not in response.get_data(as_text=True)
    [notice] = alice.get("/me/notifications").get_json()["items"]
    assert notice["kind"] == "device_added"
    assert notice["subject"] == {"type": "device", "id": device["id"]}
    assert "iPhone or iPad" in notice["body"] and "My phone" in notice["body"]
    assert "apns" not in notice["body"]
    # Its only push would go to the device just added, so it stays in the feed.
    assert notices(alice)[0].push_status == "skipped"


def test_the_same_token_again_is_the_same_device(alice):
    body = {"platform": "ios", "token": "apns-token-0123456789"}
    first = alice.post("/me/devices", json=body)
    again = stale(alice).post("/me/devices", json={**body, "label": "Renamed"})
    assert first.status_code == again.status_code == 201
    assert first.get_json()["id"] == again.get_json()["id"]
    assert again.get_json()["label"] == "Renamed"
    assert device_count() == 1 and len(notices(alice)) == 1


def test_a_login_replaces_its_own_rotated_token_without_a_fresh_login(alice):
    device = alice.post("/me/devices", json=PHONE).get_json()
    with time_machine.travel(clock.now() + timedelta(minutes=6), tick=False):
        rotated = stale(alice).post(
            "/me/devices", json={"platform": "ios", "token": "alice-phone-apns-0002"}
        )
    assert rotated.status_code == 201
    assert rotated.get_json()["id"] == device["id"]
    assert rotated.get_json()["label"] == "My phone"
    assert db.session.scalars(sa.select(Device.token)).all() == ["alice-phone-apns-0002"]
    assert len(notices(alice)) == 1


def test_a_login_without_a_device_needs_a_fresh_login_to_add_one(alice):
    phone = stale(alice)
    refused = assert_problem(phone.post("/me/devices", json=PHONE), 401)
    export = assert_problem(phone.get("/me/export"), 401)
    # The same answer as export's, from the same check.
    assert {k: refused[k] for k in ("type", "title", "detail")} == {
        k: export[k] for k in ("type", "title", "detail")
    }
    assert "recent password login" in refused["detail"]
    assert phone.post("/me/devices", json=PHONE).headers["WWW-Authenticate"] == "Bearer"
    assert device_count() == 0 and notices(alice) == []
    assert phone.login().post("/me/devices", json=PHONE).status_code == 201


def test_another_platform_is_another_device_not_a_rotation(alice):
    alice.post("/me/devices", json=PHONE)
    android = {"platform": "android", "token": "fcm-token-of-another-phone"}
    assert_problem(stale(alice).post("/me/devices", json=android), 401)
    assert db.session.scalars(sa.select(Device.token)).all() == [PHONE["token"]]
    assert alice.post("/me/devices", json=android).status_code == 201
    assert device_count() == 2 and len(notices(alice)) == 2


def test_a_device_of_another_login_moves_only_with_a_fresh_login(app, alice):
    device = alice.post("/me/devices", json=PHONE).get_json()
    tablet = another_login(app, alice)
    assert_problem(stale(tablet).post("/me/devices", json=PHONE), 401)
    moved = tablet.post("/me/devices", json=PHONE)
    assert moved.status_code == 201 and moved.get_json()["id"] == device["id"]
    # Nobody new receives anything, so there is no second notice.
    assert device_count() == 1 and len(notices(alice)) == 1


def test_my_devices_are_listed_newest_first_without_their_tokens(app, alice, bob):
    first = alice.post("/me/devices", json=PHONE).get_json()
    with time_machine.travel(clock.now() + timedelta(minutes=1), tick=False):
        browser = another_login(app, alice)
        second = browser.post(
            "/me/devices", json={"platform": "web", "token": "web-push-endpoint-1234"}
        ).get_json()
    listed = stale(alice).get("/me/devices")
    assert listed.status_code == 200
    body = listed.get_json()
    assert [d["id"] for d in body["items"]] == [second["id"], first["id"]]
    assert body["next_cursor"] is None
    assert set(body["items"][1]) == {"id", "platform", "label", "created_at", "last_used_at"}
    assert body["items"][0]["label"] is None
    assert "apns" not in listed.get_data(as_text=True)
    assert "web-push" not in listed.get_data(as_text=True)
    page = alice.get("/me/devices?limit=1").get_json()
    assert [d["id"] for d in page["items"]] == [second["id"]]
    rest = alice.get(f"/me/devices?limit=1&cursor={page['next_cursor']}").get_json()
    assert [d["id"] for d in rest["items"]] == [first["id"]]
    assert bob.get("/me/devices").get_json() == {"items": [], "next_cursor": None}


def test_bad_devices_are_named_and_nothing_is_written(alice):
    for body, field in [
        ({"platform": "pager", "token": "x" * 10}, "platform"),
        ({"platform": "ios", "token": "short"}, "token"),
        ({"platform": "ios"}, "token"),
        ({"token": "x" * 10}, "platform"),
        ({**PHONE, "label": "x" * 61}, "label"),
        ({**PHONE, "label": "   "}, "label"),
        ({**PHONE, "label": 7}, "label"),
        ({**PHONE, "owner": "bob"}, "owner"),
    ]:
        assert_problem(alice.post("/me/devices", json=body), 422, field)
    assert device_count() == 0 and notices(alice) == []
    assert_problem(alice.get("/me/devices?limit=0"), 422, "limit")
    assert_problem(alice.get("/me/devices?cursor=nonsense"), 422, "cursor")


def test_only_the_owner_sees_and_removes_a_device(alice, bob):
    device = alice.post("/me/devices", json=PHONE).get_json()
    assert_problem(bob.delete(f"/me/devices/{device['id']}"), 404)
    assert bob.get("/me/devices").get_json()["items"] == []
    assert device_count() == 1
    # Removing is stepping back: no fresh login.
    assert stale(alice).delete(f"/me/devices/{device['id']}").status_code == 204
    assert_problem(alice.delete(f"/me/devices/{device['id']}"), 404)
    assert alice.get("/me/devices").get_json()["items"] == []


def test_turning_discreet_notifications_off_needs_a_fresh_login(alice):
    phone = stale(alice)
    body = assert_problem(
        phone.patch("/me", json={"discreet_notifications": False, "display_name": "Al"}), 401
    )
    assert "recent password login" in body["detail"]
    me = phone.get("/me").get_json()
    assert me["discreet_notifications"] is True and me["display_name"] == "Alice"
    # Other changes, and turning discretion on, never need one.
    assert phone.patch("/me", json={"timezone": "Europe/Berlin"}).status_code == 200
    off = phone.login().patch("/me", json={"discreet_notifications": False})
    assert off.status_code == 200 and off.get_json()["discreet_notifications"] is False
    later = stale(phone)
    assert later.patch("/me", json={"discreet_notifications": False}).status_code == 200
    on = later.patch("/me", json={"discreet_notifications": True})
    assert on.status_code == 200 and on.get_json()["discreet_notifications"] is True


def test_a_partner_holding_the_phone_cannot_quietly_widen_what_leaves(app, alice, bob, couple):
    """Bob picks up Alice's unlocked phone, whose app holds a refreshed (stale) login."""
    phone = alice.post("/me/devices", json=PHONE).get_json()
    alices_phone = stale(alice)
    bobs_phone = {"platform": "android", "token": "fcm-token-of-bobs-phone", "label": "Spare"}

    assert_problem(alices_phone.post("/me/devices", json=bobs_phone), 401)
    assert_problem(alices_phone.patch("/me", json={"discreet_notifications": False}), 401)
    assert [d["id"] for d in alices_phone.get("/me/devices").get_json()["items"]] == [phone["id"]]
    assert alices_phone.get("/me").get_json()["discreet_notifications"] is True
    assert len(notices(alice)) == 1

    # Knowing her password, he logs in as her and adds his phone: she is told, and sees it.
    with time_machine.travel(clock.now() + timedelta(hours=1), tick=False):
        added = another_login(app, alice).post("/me/devices", json=bobs_phone).get_json()
    listed = alices_phone.get("/me/devices").get_json()["items"]
    assert [(d["id"], d["platform"], d["label"]) for d in listed] == [
        (added["id"], "android", "Spare"),
        (phone["id"], "ios", "My phone"),
    ]
    feed = alices_phone.get("/me/notifications").get_json()["items"]
    assert feed[0]["kind"] == "device_added" and "Android" in feed[0]["body"]
    assert "Spare" in feed[0]["body"]
    # Her own phone already received pushes, so the notice is pushed to it too.
    [notice] = [n for n in notices(alice) if n.subject_id == added["id"]]
    assert notice.push_status == "pending"
    # Nothing of it reaches Bob's own account.
    assert all(
        n["kind"] != "device_added" for n in bob.get("/me/notifications").get_json()["items"]
    )

    assert alices_phone.delete(f"/me/devices/{added['id']}").status_code == 204
    assert [d["id"] for d in alices_phone.get("/me/devices").get_json()["items"]] == [phone["id"]]


def test_logging_out_stops_pushes_to_that_phone(api, alice):
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
