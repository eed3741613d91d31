"""Erasure: my data goes, my couple ends quietly, my partner keeps their own history."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers import PASSWORD, answers_for, assert_problem

NAME = "Alice Wonderland-Smith"
EMAIL = "alice.erased@example.com"


def database_dump() -> str:
    """Every row of every table, as text (the whole database as an operator would see it)."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_erasing_removes_me_and_leaves_my_partner_their_history(app, bob):
    from tests.helpers import make_partner, pair

    alice = make_partner(app, EMAIL, NAME)
    pair(alice, bob)
    checkin = alice.post("/couple/checkins", json={"prompt_set": "after_a_trigger"}).get_json()
    alice.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin, text="alice's words"), "submit": True},
    )
    bob.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin, text="bob's words"), "submit": True},
    )
    alice.post("/me/journal", json={"text": "alice journal"})
    alice.post("/me/devices", json={"platform": "ios", "token": "alice-device-token"})
    notifications_before = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == bob.user["id"])
    )

    assert alice.delete("/me", json={"password": PASSWORD}).status_code == 204

    # Alice can't come back with her credentials
    login = alice.client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert_problem(login, 401)
    assert_problem(alice.get("/me"), 401)
    # Bob: the couple ended (quietly), his content stays, Alice's is removed
    couple = bob.get("/couple").get_json()
    assert couple["status"] == "ended"
    assert "Former partner" in [m["display_name"] for m in couple["members"]]
    view = bob.get(f"/checkins/{checkin['id']}").get_json()
    assert "bob's words" in str(view["my_response"])
    assert view["partner"]["display_name"] == "Former partner"
    assert view["partner"]["answers"] == []
    assert NAME not in bob.get("/couple/timeline").get_data(as_text=True)
    notifications_after = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == bob.user["id"])
    )
    assert notifications_after == notifications_before  # leaving by erasure is quiet
    # nothing of Alice remains findable by e-mail or name
    dump = database_dump()
    for trace in (EMAIL, NAME, "alice's words", "alice journal", "alice-device-token"):
        assert trace not in dump, trace


def test_erasure_needs_the_password_and_a_recent_login(alice):
    assert_problem(alice.delete("/me", json={"password": "not my password"}), 422, "password")
    assert_problem(alice.delete("/me", json={}), 422, "password")
    with time_machine.travel(clock.now() + timedelta(minutes=6), tick=False):
        assert_problem(alice.delete("/me", json={"password": PASSWORD}), 401)
    assert alice.get("/me").status_code == 200


def test_a_counselor_can_erase_too(alice, bob, couple, counselor):
    from tests.counseling.helpers import link

    link(alice, bob, counselor)
    assert counselor.delete("/me", json={"password": PASSWORD}).status_code == 204
    links = alice.get("/couple/counselor-links").get_json()
    assert links[0]["status"] == "ended"
    assert "Dr Kim" not in alice.get("/couple/timeline").get_data(as_text=True)
