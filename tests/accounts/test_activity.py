"""A person sees what changed in their account, when and from which sign-in — and nothing that
would betray them to someone holding their phone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from backend import clock
from backend.accounts.models import AccountActivity
from backend.extensions import db
from backend.scheduling.jobs import tick
from tests.accounts.test_sessions_list import IPHONE_SAFARI, sign_in
from tests.counseling.helpers import link
from tests.helpers import PASSWORD, answers_for, assert_problem, ok, ok_text


def activity(person, **query: Any) -> list[dict[str, Any]]:
    response = person.get("/me/activity", query_string={"limit": 100, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def kinds(person) -> list[str]:
    return [item["kind"] for item in activity(person)]


def rows() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AccountActivity))


def wrong_password(api, email: str = "alice@example.com"):
    return api.post("/auth/login", json={"email": email, "password": "not the password"})


def test_a_sign_in_is_listed_with_the_device_it_came_from(app, alice):
    phone = sign_in(app, "alice@example.com", user_agent=IPHONE_SAFARI)
    [signed_in, created] = activity(alice)
    assert created["kind"] == "account_created"
    assert created["session"]["is_current"] is True
    assert signed_in["kind"] == "signed_in"
    assert signed_in["summary"] == "New sign-in on Safari on iPhone."
    assert signed_in["session"] == {
        "id": signed_in["session"]["id"],
        "description": "Safari on iPhone",
        "is_current": False,
    }
    assert activity(phone)[0]["session"]["is_current"] is True
    assert set(signed_in) == {"id", "kind", "at", "summary", "session", "details"}


def test_failed_sign_ins_are_counted_per_hour_never_one_row_each(app, api, alice):
    start = clock.now().replace(minute=5, second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        for _ in range(4):
            assert_problem(wrong_password(api), 401)
    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        assert_problem(wrong_password(api), 401)
        [failed] = [i for i in activity(alice.login()) if i["kind"] == "sign_in_failed"]
    assert failed["details"] == {
        "attempts": 5,
        "last_attempt_at": (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert failed["summary"] == "5 sign-ins with a wrong password failed within this hour."
    assert failed["session"] is None
    with time_machine.travel(start + timedelta(hours=1), tick=False):
        assert_problem(wrong_password(api), 401)
        counted = [i["details"].get("attempts") for i in activity(alice.login())]
    assert [c for c in counted if c] == [1, 5]


def test_an_unknown_email_writes_nothing(api, alice):
    before = rows()
    assert_problem(wrong_password(api, "nobody@example.com"), 401)
    assert rows() == before


def test_profile_discreet_password_and_export_are_listed_in_plain_words(app, alice):
    for change in (
        {"display_name": "Ally", "timezone": "Europe/Berlin"},
        {"display_name": "Ally"},  # no change: nothing new
        {"discreet_notifications": False},
        {"discreet_notifications": True},
    ):
        assert alice.patch("/me", json=change).status_code == 200
    assert alice.get("/me/export").status_code == 200
    response = alice.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"}
    )
    assert response.status_code == 204
    summaries = {i["kind"]: i["summary"] for i in activity(alice)}
    assert kinds(alice) == [
        "password_changed",
        "export_downloaded",
        "discreet_notifications_on",
        "discreet_notifications_off",
        "profile_changed",
        "account_created",
    ]
    assert summaries["profile_changed"] == "Changed the display name and time zone."
    assert "Ally" not in ok_text(alice.get("/me/activity"))
    assert "Berlin" not in ok_text(alice.get("/me/activity"))
    assert summaries["export_downloaded"] == "Downloaded a copy of all your data."


def test_a_password_change_lists_each_sign_in_it_ended(app, alice):
    sign_in(app, "alice@example.com", label="Old tablet")
    alice.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"}
    )
    [changed, ended, *_] = activity(alice)
    assert {changed["kind"], ended["kind"]} == {"password_changed", "session_ended"}
    ended = changed if changed["kind"] == "session_ended" else ended
    assert ended["details"]["reason"] == "password_change"
    assert ended["details"]["ended_session"] == "Old tablet"
    assert ended["session"]["is_current"] is True
    assert ended["summary"] == "The sign-in on Old tablet was ended by a password change."


def test_devices_added_and_removed_are_listed(alice):
    device = alice.post("/me/devices", json={"platform": "android", "token": "push-token-01"})
    alice.delete(f"/me/devices/{device.get_json()['id']}")
    removed, added = activity(alice)[:2]
    assert (added["kind"], removed["kind"]) == ("device_added", "device_removed")
    assert added["details"] == {"device_id": device.get_json()["id"], "platform": "android"}
    assert "Android" in added["summary"] and "push-token-01" not in str(added)
    # A rotated token of the same device is no new device: nothing more is listed.
    alice.post("/me/devices", json={"platform": "ios", "token": "push-token-02"})
    alice.post("/me/devices", json={"platform": "ios", "token": "push-token-03"})
    assert kinds(alice).count("device_added") == 2


def test_counselor_links_are_listed_for_the_partner_who_acted(alice, bob, couple, counselor):
    linked = link(alice, bob, counselor)
    assert bob.delete(f"/counselor-links/{linked['id']}").status_code == 204
    assert "counselor_link_proposed" in kinds(alice)
    assert "counselor_link_consented" not in kinds(alice)
    assert kinds(bob)[:2] == ["counselor_link_ended", "counselor_link_consented"]
    assert activity(bob)[0]["details"] == {"counselor_link_id": linked["id"], "scope": "progress"}
    assert "counselor_link_ended" not in kinds(counselor)


def test_the_activity_is_paged_newest_first_with_cursors(alice):
    for zone in ("Europe/Berlin", "Europe/Paris", "Asia/Tokyo", "UTC"):
        alice.patch("/me", json={"timezone": zone})
    first = alice.get("/me/activity", query_string={"limit": 3}).get_json()
    rest = alice.get(
        "/me/activity", query_string={"limit": 3, "cursor": first["next_cursor"]}
    ).get_json()
    assert rest["next_cursor"] is None
    every = first["items"] + rest["items"]
    assert len({i["id"] for i in every}) == 5
    assert [i["at"] for i in every] == sorted((i["at"] for i in every), reverse=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 0}, "limit"), ({"limit": 101}, "limit"), ({"cursor": "garbage"}, "cursor")],
)
def test_bad_paging_is_named(alice, query, field):
    before = rows()
    assert_problem(alice.get("/me/activity", query_string=query), 422, field)
    assert rows() == before


def test_nobody_else_sees_my_activity_and_nobody_can_delete_it(app, alice, bob, couple, counselor):
    alice.patch("/me", json={"timezone": "Europe/Berlin"})
    mine = activity(alice)
    for other in (bob, counselor):
        seen = other.get("/me/activity").get_data(as_text=True)
        assert all(item["id"] not in seen for item in mine)
    # There is no way to remove an event, not even for the account holder.
    assert alice.delete("/me/activity").status_code == 405
    assert alice.delete(f"/me/activity/{mine[0]['id']}").status_code == 404
    assert [i["id"] for i in activity(alice)] == [i["id"] for i in mine]


def test_activity_is_kept_ninety_days_then_purged_by_the_tick(app, alice):
    start = clock.now()
    with time_machine.travel(start + timedelta(days=10), tick=False):
        alice.login()
    with time_machine.travel(start + timedelta(days=91), tick=False):
        tick()
        later = alice.login()
        assert kinds(later) == ["signed_in", "signed_in"]


def test_the_export_holds_the_activity_and_erasure_removes_it(app, alice):
    alice.patch("/me", json={"timezone": "Europe/Berlin"})
    exported = alice.get("/me/export").get_json()
    assert [i["kind"] for i in exported["activity"]] == [
        "account_created",
        "profile_changed",
        "export_downloaded",
    ]
    assert exported["activity"][0]["session"]["is_current"] is False
    assert alice.delete("/me", json={"password": PASSWORD}).status_code == 204
    assert rows() == 0


def test_the_activity_names_no_address_or_place(app, alice):
    sign_in(app, "alice@example.com", user_agent=IPHONE_SAFARI)
    ok(alice.patch("/me", json={"timezone": "America/New_York"}))
    text = ok_text(alice.get("/me/activity"))
    assert "signed_in" in text
    for trace in ("127.0.0.1", "New_York", "Mozilla"):
        assert trace not in text


def partner_view(bob) -> tuple:
    """Everything of Alice that Bob can read: his timeline, his notifications, his export."""
    timeline = bob.get("/couple/timeline", query_string={"limit": 100}).get_json()
    notes = bob.get("/me/notifications", query_string={"limit": 100}).get_json()
    export = bob.get("/me/export").get_json()
    return (
        [e["id"] for e in timeline["items"]],
        [n["id"] for n in notes["items"]],
        [n["id"] for n in export["notifications"]],
        [e["summary"] for c in export["couples"] for e in c["timeline"]],
    )


def test_what_must_stay_hidden_is_never_listed_nor_told_to_the_partner(alice, bob, couple):
    """The safety check, safety resources, the journal, drafts, reading notifications and
    leaving quietly leave no trace in the activity, the sessions list or the partner's view."""
    bob.login()  # a fresh login, so that Bob may export
    # Opening a check-in is shared work, told to Bob as always: done before looking.
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    before = (activity(alice), alice.get("/me/sessions").get_json(), partner_view(bob))

    questions = alice.get("/me/safety-check").get_json()["questions"]
    check = {q["key"]: "yes" for q in questions}
    assert alice.put("/me/safety-check", json={"answers": check}).status_code == 200
    assert alice.get("/safety/resources").status_code == 200
    entry = alice.post("/me/journal", json={"text": "what I could not say"}).get_json()
    assert alice.patch(f"/me/journal/{entry['id']}", json={"text": "edited"}).status_code == 200
    assert alice.get(f"/me/journal/{entry['id']}").status_code == 200
    assert alice.delete(f"/me/journal/{entry['id']}").status_code == 204
    draft = {"answers": answers_for(checkin), "submit": False}
    assert alice.put(f"/checkins/{checkin['id']}/answers", json=draft).status_code == 200
    assert alice.post("/me/notifications/read", json={"all": True}).status_code == 200

    assert activity(alice) == before[0]
    assert alice.get("/me/sessions").get_json() == before[1]
    assert partner_view(bob) == before[2]

    assert alice.post("/couple/leave", json={"notify_partner": False}).status_code == 200
    assert activity(alice) == before[0]
    assert alice.get("/me/sessions").get_json() == before[1]
    notes = bob.get("/me/notifications", query_string={"limit": 100}).get_json()["items"]
    assert [n["id"] for n in notes] == before[2][1]


def test_calendar_feeds_made_and_revoked_are_listed(alice, bob, couple):
    feed = alice.post("/me/calendar-feeds", json={}).get_json()
    assert alice.delete(f"/me/calendar-feeds/{feed['id']}").status_code == 204
    revoked, created = activity(alice)[:2]
    assert (created["kind"], revoked["kind"]) == ("calendar_feed_created", "calendar_feed_revoked")
    assert created["details"] == {"feed_id": feed["id"]}
    assert feed["url"] not in ok_text(alice.get("/me/activity"))
    assert "calendar_feed_created" not in kinds(bob)
