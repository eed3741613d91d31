"""The abuse case: someone who once signed in as her keeps a session on their own phone. She
sees it, ends it from another device, and they are out: no requests, no refresh, no pushes."""

from __future__ import annotations

import json
from datetime import timedelta

import time_machine

from backend import clock
from backend.extensions import db
from backend.notifications import service as notifications
from backend.notifications.delivery import deliver_due
from tests.accounts.test_sessions_list import ANDROID_CHROME, IPHONE_SAFARI, sign_in
from tests.helpers import assert_problem, make_partner
from tests.notifications.test_delivery import pushing_app, relay  # noqa: F401 - fixtures


def test_a_stale_session_cannot_hide_and_ending_it_shuts_it_out(pushing_app, relay):  # noqa: F811
    app = pushing_app
    start = clock.now()
    with app.app_context(), time_machine.travel(start, tick=False):
        make_partner(app, "alice@example.com", "Alice")
        phone = sign_in(app, "alice@example.com", user_agent=IPHONE_SAFARI)
        assert (
            phone.post("/me/devices", json={"platform": "ios", "token": "her-phone"}).status_code
            == 201
        )
        # He knows her password: he signs in on his own phone and has her pushes sent there.
        his = sign_in(app, "alice@example.com", user_agent=ANDROID_CHROME)
        assert (
            his.post("/me/devices", json={"platform": "android", "token": "his-phone"}).status_code
            == 201
        )

    # Days later he still holds that session (refreshed, so never fresh again).
    with app.app_context(), time_machine.travel(start + timedelta(days=3), tick=False):
        refreshed = his.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": his.tokens["refresh_token"]}
        )
        his.tokens = refreshed.get_json()
        # He cannot remove what the account shows her: there is no way to delete activity.
        events = his.get("/me/activity").get_json()["items"]
        assert his.delete("/me/activity").status_code == 405
        assert his.delete(f"/me/activity/{events[0]['id']}").status_code == 404

    with app.app_context(), time_machine.travel(start + timedelta(days=4), tick=False):
        laptop = sign_in(app, "alice@example.com", label="My laptop")
        summaries = [e["summary"] for e in laptop.get("/me/activity").get_json()["items"]]
        assert "New sign-in on Chrome on Android (Pixel 8)." in summaries
        assert "Added a push device (Android) that receives your notifications." in summaries
        listed = laptop.get("/me/sessions").get_json()["items"]
        [theirs] = [s for s in listed if s["description"] == "Chrome on Android (Pixel 8)"]
        assert theirs["is_current"] is False and theirs["is_fresh"] is False
        assert theirs["last_used_at"] == (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")

        # She ends it from her laptop: no password asked, effective at his next request.
        assert laptop.delete(f"/me/sessions/{theirs['id']}").status_code == 204
        assert_problem(his.get("/me"), 401)
        refused = his.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": his.tokens["refresh_token"]}
        )
        assert_problem(refused, 401)
        # Her own phone is untouched: its app refreshes as usual.
        kept = phone.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": phone.tokens["refresh_token"]}
        )
        assert kept.status_code == 200

        # His phone gets no more of her pushes; hers still does.
        notifications.notify(
            user_ids=[laptop.user["id"]], kind="checkin_reminder", title="t", body="b"
        )
        db.session.commit()
        deliver_due()
        pushed = [json.loads(sent["body"])["devices"] for sent in relay.received]
        assert pushed and all(d == [{"platform": "ios", "token": "her-phone"}] for d in pushed)

        [ended] = [
            e
            for e in laptop.get("/me/activity").get_json()["items"]
            if e["kind"] == "session_ended"
        ]
        assert ended["summary"] == (
            "Ended the sign-in on Chrome on Android (Pixel 8) from another of your sessions. "
            "1 push device removed with it."
        )
        assert ended["session"] == {
            "id": ended["session"]["id"],
            "description": "My laptop",
            "is_current": True,
        }
