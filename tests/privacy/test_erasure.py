"""Erasure: my data goes, my couple ends quietly, my partner keeps their own history."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers import PASSWORD, answers_for, assert_problem, ok_text

NAME = "Alice Wonderland-Smith"
EMAIL = "alice.erased@example.com"


def database_dump() -> str:
    """Every row of every table, as text (the whole database as an operator would see it)."""
    parts = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)):
            # str, not repr: repr would double the backslashes of JSON escapes in stored text.
            parts.append("\t".join(str(value) for value in row))
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
    assert NAME not in ok_text(bob.get("/couple/timeline"))
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
    assert "Dr Kim" not in ok_text(alice.get("/couple/timeline"))


NEW_NAME = "Ally Quillfeather"
HER_TITLE = "Tuesdays without phones"


def readable_by(person) -> str:
    """Everything `person` can read of their couples and of their own account, as one text."""
    parts = [person.get("/me/notifications?limit=100"), person.get("/me/export")]
    if person.user["role"] == "partner":
        agreements = person.get("/couple/agreements").get_json()["items"]
        conversations = person.get("/couple/conversations").get_json()["items"]
        parts += [
            person.get("/couple"),
            person.get("/couple/timeline?limit=100"),
            person.get("/couple/counselor-links"),
            person.get("/couple/exercises"),
            *[person.get(f"/agreements/{a['id']}") for a in agreements],
            *[person.get(f"/conversations/{c['id']}") for c in conversations],
        ]
    for response in parts:
        assert response.status_code == 200, response.get_data(as_text=True)
    text = "\n".join(r.get_data(as_text=True) for r in parts)
    # Random ids could spell a short name by chance: look at the words, not at the ids.
    return re.sub(r'"[A-Za-z0-9_-]{22}"', '""', text)


def test_erasure_scrubs_every_name_i_ever_used_and_the_titles_i_wrote(app, bob, counselor):
    from tests.counseling.helpers import link
    from tests.helpers import make_partner, pair

    alice = make_partner(app, EMAIL, NAME)
    couple = pair(alice, bob)
    link(alice, bob, counselor)
    # Bob's own proposal names Alice in its items; he sent it with an Idempotency-Key.
    bobs_proposal = {
        "title": "Evenings",
        "items": [{"category": "plans", "text": "We share plans.", "applies_to": "both"}],
    }
    first = bob.post(
        "/couple/agreements", json=bobs_proposal, headers={"Idempotency-Key": "bob-evenings"}
    )
    assert first.status_code == 201 and NAME in first.get_data(as_text=True)
    hers = alice.post(
        "/couple/agreements",
        json={"title": HER_TITLE, "items": [{"category": "contact", "text": "We call at 9."}]},
    ).get_json()
    talk = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    counselor.post(
        f"/counselor/couples/{couple['id']}/exercises",
        json={"kind": "checkin", "template": "after_a_trigger"},
    )
    # A new name, then more history written with it.
    renamed = alice.patch("/me", json={"display_name": NEW_NAME})
    assert renamed.status_code == 200 and renamed.get_json()["display_name"] == NEW_NAME
    assert alice.get("/me/export").get_json()["account"]["former_display_names"] == [NAME]
    alice.patch("/couple", json={"name": f"{NEW_NAME} and Bob"})
    alice.post(f"/conversations/{talk['id']}/pause", json={"minutes": 30})
    alice.post(f"/agreements/{hers['id']}/withdraw", json={})
    before = readable_by(bob)
    assert NAME in before and NEW_NAME in before and HER_TITLE in before

    assert alice.delete("/me", json={"password": PASSWORD}).status_code == 204

    for person in (bob, counselor):
        seen = readable_by(person)
        for trace in (NAME, NEW_NAME, HER_TITLE, "Alice", "Ally"):
            assert trace not in seen, (person.user["display_name"], trace)
    # The version she wrote is still there, its title and items removed.
    agreement = bob.get(f"/agreements/{hers['id']}").get_json()
    [version] = agreement["versions"]
    assert agreement["title"] == version["title"] == "[removed]"
    assert [i["text"] for i in version["items"]] == ["[removed]"]
    # Bob's retry still gets his first answer, without her names.
    replay = bob.post(
        "/couple/agreements", json=bobs_proposal, headers={"Idempotency-Key": "bob-evenings"}
    )
    assert replay.status_code == 201 and replay.get_json()["id"] == first.get_json()["id"]
    assert "Former partner" in replay.get_data(as_text=True)
    assert NAME not in replay.get_data(as_text=True)
    dump = database_dump()
    for trace in (EMAIL, NAME, NEW_NAME, HER_TITLE):
        assert trace not in dump, trace


def test_a_name_with_characters_json_escapes_is_scrubbed_from_stored_responses(app, bob):
    from tests.helpers import make_partner, pair

    name = 'Zoë "Zo" Ångström'
    zoe = make_partner(app, "zoe@example.com", name)
    pair(zoe, bob)
    bob.post(
        "/couple/agreements",
        json={
            "title": "T",
            "items": [{"category": "plans", "text": "Plans.", "applies_to": "both"}],
        },
        headers={"Idempotency-Key": "bob-plans"},
    )
    assert zoe.delete("/me", json={"password": PASSWORD}).status_code == 204
    dump = database_dump()
    for form in (name, json.dumps(name)[1:-1], "Zo\\u00eb", "\\u00c5ngstr\\u00f6m"):
        assert form not in dump, form


def test_renaming_keeps_the_old_name_for_erasure_only(alice, bob, couple):
    for name in ("Ally", "Al", "Ally"):
        assert alice.patch("/me", json={"display_name": name}).status_code == 200
    assert alice.patch("/me", json={"display_name": "Ally"}).status_code == 200  # no change
    assert alice.get("/me/export").get_json()["account"]["former_display_names"] == [
        "Alice",
        "Ally",
        "Al",
    ]
    # Bob sees her as she is now (they are still a couple), never her earlier names.
    assert "Ally" in [m["display_name"] for m in bob.get("/couple").get_json()["members"]]
    assert "former_display_names" not in ok_text(bob.get("/couple"))


def test_a_bad_new_name_is_named_and_nothing_is_kept(alice):
    assert_problem(alice.patch("/me", json={"display_name": ""}), 422, "display_name")
    assert_problem(alice.patch("/me", json={"display_name": "x" * 81}), 422, "display_name")
    assert alice.get("/me").get_json()["display_name"] == "Alice"
    assert alice.get("/me/export").get_json()["account"]["former_display_names"] == []
