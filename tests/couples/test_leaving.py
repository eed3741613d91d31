"""Either partner can leave, alone and at once; quietly unless they choose otherwise."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa

from backend.couples import service
from backend.couples.models import CoupleMember
from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers import assert_problem, ok_text, pair


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


NEW_LIFE = "Robin Elsewhere"


def shared_history(alice, bob, counselor) -> dict[str, str]:
    """A check-in, an agreement, a conversation and a counselor link, each showing Bob's name."""
    from tests.counseling.helpers import propose
    from tests.helpers import answers_for

    checkin = alice.post("/couple/checkins", json={"prompt_set": "after_a_trigger"}).get_json()
    bob.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin), "submit": True},
    )
    agreement = bob.post(
        "/couple/agreements",
        json={
            "title": "T",
            "items": [{"category": "plans", "text": "Plans.", "applies_to": "both"}],
        },
    ).get_json()
    conversation = bob.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": bob.user["id"]}},
    ).get_json()
    propose(bob, counselor)
    return {"checkin": checkin["id"], "agreement": agreement["id"], "talk": conversation["id"]}


def bob_as_alice_sees_him(alice, bob_id: str, ids: dict[str, str]) -> tuple[set[str], str]:
    """Every name Alice's views give Bob, and all those views as one text."""
    views = {
        "couple": alice.get("/couple"),
        "checkin": alice.get(f"/checkins/{ids['checkin']}"),
        "agreement": alice.get(f"/agreements/{ids['agreement']}"),
        "talk": alice.get(f"/conversations/{ids['talk']}"),
        "links": alice.get("/couple/counselor-links"),
        "export": alice.get("/me/export"),
    }
    for response in views.values():
        assert response.status_code == 200, response.get_data(as_text=True)
    names: set[str] = set()

    def collect(value) -> None:
        if isinstance(value, dict):
            if value.get("id") == bob_id and "display_name" in value:
                names.add(value["display_name"])
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for response in views.values():
        collect(response.get_json())
    text = "\n".join(r.get_data(as_text=True) for r in views.values())
    # Random ids could spell a short name by chance: look at the words, not at the ids.
    return names, re.sub(r'"[A-Za-z0-9_-]{22}"', '""', text)


def test_after_leaving_the_former_partner_sees_the_name_the_leaver_had(
    alice, bob, couple, counselor, carol
):
    ids = shared_history(alice, bob, counselor)
    assert bob.post("/couple/leave", json={}).status_code == 200
    assert bob.patch("/me", json={"display_name": NEW_LIFE}).status_code == 200
    assert alice.patch("/me", json={"display_name": "Alex"}).status_code == 200

    names, text = bob_as_alice_sees_him(alice, bob.user["id"], ids)
    assert names == {"Bob"}
    assert NEW_LIFE not in text
    # Neither sees the other's life after the couple: Bob sees Alice as she was, too.
    members = {m["id"]: m["display_name"] for m in bob.get("/couple").get_json()["members"]}
    assert members[alice.user["id"]] == "Alice"
    assert "Alex" not in ok_text(bob.get(f"/checkins/{ids['checkin']}"))
    # Someone else's partner still finds nothing of theirs.
    assert_problem(carol.get(f"/checkins/{ids['checkin']}"), 404)


def test_after_leaving_and_erasure_the_former_partner_sees_a_neutral_label(
    alice, bob, couple, counselor
):
    from tests.helpers import PASSWORD

    ids = shared_history(alice, bob, counselor)
    bob.post("/couple/leave", json={})
    bob.patch("/me", json={"display_name": NEW_LIFE})
    assert bob.delete("/me", json={"password": PASSWORD}).status_code == 204

    names, text = bob_as_alice_sees_him(alice, bob.user["id"], ids)
    assert names == {"Former partner"}
    assert "Bob" not in text and NEW_LIFE not in text
    # Erasure cleared the name kept for Alice's view, too.
    kept = db.session.scalars(
        sa.select(CoupleMember.display_name_at_end).where(CoupleMember.user_id == bob.user["id"])
    ).all()
    assert kept == ["Former partner"]
    members = {m["id"]: m["display_name"] for m in alice.get("/couple").get_json()["members"]}
    assert members == {alice.user["id"]: "Alice", bob.user["id"]: "Former partner"}


def test_a_couple_that_is_still_together_shows_each_partners_name_as_it_is(alice, bob, couple):
    bob.patch("/me", json={"display_name": "Rob"})
    members = {m["id"]: m["display_name"] for m in alice.get("/couple").get_json()["members"]}
    assert members == {alice.user["id"]: "Alice", bob.user["id"]: "Rob"}
