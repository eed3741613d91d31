"""Either partner can leave, alone and at once; quietly unless they choose otherwise."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from backend.couples import service
from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers import assert_problem, pair


def notifications_of(user) -> list[Notification]:
    return db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.user["id"])
    ).all()


def test_leaving_ends_the_couple_at_once_for_both(alice, bob, couple):
    response = bob.post("/couple/leave", json={})
    assert response.status_code == 200
    assert response.get_json()["status"] == "ended"
    assert response.get_json()["ended_at"].endswith("Z")
    assert alice.get("/couple").get_json()["status"] == "ended"


def test_leaving_is_quiet_by_default(alice, bob, couple):
    before = len(notifications_of(alice))
    bob.post("/couple/leave", json={})
    assert len(notifications_of(alice)) == before


def test_the_leaving_partner_may_choose_to_tell(alice, bob, couple):
    bob.post("/couple/leave", json={"notify_partner": True})
    told = [n for n in notifications_of(alice) if n.kind == "partner_left"]
    assert len(told) == 1
    assert not [n for n in notifications_of(bob) if n.kind == "partner_left"]


def test_an_ended_couple_is_read_only_for_both(alice, bob, couple):
    bob.post("/couple/leave", json={})
    assert_problem(alice.patch("/couple", json={"name": "Still us"}), 409)
    assert_problem(alice.post("/couple/leave", json={}), 409)
    assert_problem(bob.patch("/couple", json={"timezone": "Europe/Berlin"}), 409)


def test_both_keep_reading_what_was_shared(alice, bob, couple):
    bob.post("/couple/leave", json={})
    for partner in (alice, bob):
        kinds = [e["kind"] for e in partner.get("/couple/timeline").get_json()["items"]]
        assert kinds == ["partner_left", "paired"]


def test_each_is_free_to_pair_again(app, alice, bob, couple):
    from tests.helpers import make_partner

    alice.post("/couple/leave", json={})
    eve = make_partner(app, "eve@example.com", "Eve")
    new_couple = pair(bob, eve)
    assert new_couple["id"] != couple["id"]
    assert bob.get("/couple").get_json()["id"] == new_couple["id"]
    # Alice still sees the ended couple, read-only
    assert alice.get("/couple").get_json()["id"] == couple["id"]
    assert pair(alice, make_partner(app, "finn@example.com", "Finn"))["status"] == "active"


def test_features_registered_on_the_hook_stop_when_the_couple_ends(alice, bob, couple):
    stopped: list[tuple[str, datetime]] = []
    hook = service.on_couple_ended(lambda c, when: stopped.append((c.id, when)))
    try:
        bob.post("/couple/leave", json={})
    finally:
        service._couple_ended_hooks.remove(hook)
    assert [couple_id for couple_id, _ in stopped] == [couple["id"]]


def test_a_failing_hook_leaves_the_couple_untouched(alice, bob, couple):
    def broken(c, when):
        raise RuntimeError("feature could not stop")

    service.on_couple_ended(broken)
    try:
        assert_problem(bob.post("/couple/leave", json={}), 500)
    finally:
        service._couple_ended_hooks.remove(broken)
    assert alice.get("/couple").get_json()["status"] == "active"


def test_bad_input_is_named(alice, couple):
    assert_problem(
        alice.post("/couple/leave", json={"notify_partner": "maybe"}), 422, "notify_partner"
    )
    assert alice.get("/couple").get_json()["status"] == "active"


def test_stepping_back_needs_no_body(app, alice, bob, couple):
    agreement = alice.post(
        "/couple/agreements",
        json={"title": "T", "items": [{"category": "plans", "text": "We share plans."}]},
    ).get_json()
    assert bob.post(f"/agreements/{agreement['id']}/withdraw").status_code == 200
    conversation = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    assert bob.post(f"/conversations/{conversation['id']}/pause").status_code == 200
    assert bob.post("/couple/leave").status_code == 200
