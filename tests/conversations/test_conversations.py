"""Guided conversations: templates, roles, turn-taking, moving on together."""

from __future__ import annotations

import sqlalchemy as sa

from backend.conversations.library import templates
from backend.conversations.models import Conversation
from backend.extensions import db
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent
from tests.conversations.helpers import start, step_through
from tests.helpers import assert_problem, ok, ok_text


def told(user, kind) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.user["id"], Notification.kind == kind)
    )


def test_templates_have_steps_roles_and_sources(counselor):
    listed = {t["key"]: t for t in counselor.get("/conversation-templates").get_json()}
    assert {
        "repair_after_betrayal",
        "processing_a_trigger",
        "looking_back_at_an_incident",
        "speaker_listener_older_hurt",
    } <= set(listed)
    for template in listed.values():
        assert template["source"] and template["before_you_start"]
        for step in template["steps"]:
            assert step["title"] and step["guidance"] and step["prompts"]
            assert step["writers"] in (*template["roles"], "both", "either")
    repair = [s["key"] for s in listed["repair_after_betrayal"]["steps"]]
    assert repair.index("questions") < repair.index("honest_answers") < repair.index("amends")
    assert any(s.get("links_to") == "agreement" for s in listed["repair_after_betrayal"]["steps"])


def test_starting_assigns_roles_and_tells_the_partner(alice, bob, couple):
    conversation = start(alice, "repair_after_betrayal", "hurt_partner", alice)
    roles = {r["role"]: r["user"]["id"] for r in conversation["roles"]}
    assert roles == {"hurt_partner": alice.user["id"], "involved_partner": bob.user["id"]}
    step = conversation["current_step"]
    assert step["index"] == 0 and step["writers"] == "hurt_partner"
    assert [p["id"] for p in step["expected_writers"]] == [alice.user["id"]]
    assert told(bob, "conversation_started") == 1


def test_bad_template_or_roles_are_named_and_nothing_starts(alice, bob, couple, carol):
    cases = [
        ({"template": "nope", "roles": {"speaker": alice.user["id"]}}, "template"),
        ({"template": "processing_a_trigger", "roles": {"speaker": alice.user["id"]}}, "roles"),
        ({"template": "processing_a_trigger", "roles": {}}, "roles"),
        (
            {"template": "processing_a_trigger", "roles": {"hurt_partner": carol.user["id"]}},
            "roles",
        ),
        ({"template": "processing_a_trigger", "roles": {"boss": alice.user["id"]}}, "roles"),
        ({"template": "processing_a_trigger"}, "roles"),
    ]
    for body, field in cases:
        problem = alice.post("/couple/conversations", json=body)
        assert problem.status_code == 422, body
        assert any(key.startswith(field) for key in problem.get_json()["errors"]), body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 0


def test_only_the_partner_a_step_asks_for_may_write(alice, bob, couple):
    conversation = start(alice, "repair_after_betrayal", "hurt_partner", alice)
    response = bob.post(f"/conversations/{conversation['id']}/entries", json={"text": "But I..."})
    body = assert_problem(response, 409)
    assert "Alice" in body["detail"] and "hurt partner" in body["detail"]
    ok = alice.post(f"/conversations/{conversation['id']}/entries", json={"text": "Why?"})
    assert ok.status_code == 201
    entries = ok.get_json()["steps"][0]["entries"]
    assert [e["text"] for e in entries] == ["Why?"]
    assert (
        bob.get(f"/conversations/{conversation['id']}").get_json()["steps"][0]["entries"] == entries
    )


def test_moving_on_needs_every_entry_and_both_partners(alice, bob, couple):
    conversation = start(alice, "processing_a_trigger", "triggered_partner", alice)
    cid = conversation["id"]
    assert_problem(bob.post(f"/conversations/{cid}/ready"), 409)
    alice.post(f"/conversations/{cid}/entries", json={"text": "When you were late..."})
    first = alice.post(f"/conversations/{cid}/ready").get_json()
    assert first["current_step"]["index"] == 0
    assert [p["id"] for p in first["current_step"]["ready"]] == [alice.user["id"]]
    second = bob.post(f"/conversations/{cid}/ready").get_json()
    assert second["current_step"]["index"] == 1
    assert second["current_step"]["writers"] == "supporting_partner"
    kinds = [e["kind"] for e in alice.get("/couple/timeline").get_json()["items"]]
    assert kinds[0] == "conversation_step_completed"


def test_entries_must_have_words(alice, bob, couple):
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    url = f"/conversations/{conversation['id']}/entries"
    assert_problem(alice.post(url, json={"text": "   "}), 422, "text")
    assert_problem(alice.post(url, json={"text": "x" * 5001}), 422, "text")
    assert_problem(alice.post(url, json={}), 422, "text")


def test_every_template_can_be_walked_to_the_end(alice, bob, couple):
    partners = {alice.user["id"]: alice, bob.user["id"]: bob}
    for key, template in templates().items():
        conversation = start(alice, key, template["roles"][0], alice)
        for _ in template["steps"]:
            conversation = step_through(conversation, partners)
        assert conversation["status"] == "completed", key
        assert conversation["current_step"] is None
        assert len(conversation["steps"]) == len(template["steps"])
        assert all(step["entries"] for step in conversation["steps"]), key
    completed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TimelineEvent)
        .where(TimelineEvent.kind == "conversation_completed")
    )
    assert completed == len(templates())
    assert told(alice, "conversation_completed") == len(templates())


def test_the_trigger_roles_are_named_for_what_they_are_and_the_old_keys_still_work(
    alice, bob, couple
):
    template = templates()["processing_a_trigger"]
    assert template["roles"] == ["triggered_partner", "supporting_partner"]
    assert "hurt_partner" not in str(template["steps"])
    for role, holder in (("triggered_partner", alice), ("hurt_partner", alice)):
        conversation = start(alice, "processing_a_trigger", role, holder)
        roles = {r["role"]: r["user"]["id"] for r in conversation["roles"]}
        assert roles == {
            "triggered_partner": alice.user["id"],
            "supporting_partner": bob.user["id"],
        }
    # the former key of the other role, too
    conversation = start(alice, "processing_a_trigger", "involved_partner", bob)
    roles = {r["role"]: r["user"]["id"] for r in conversation["roles"]}
    assert roles == {"triggered_partner": alice.user["id"], "supporting_partner": bob.user["id"]}
    listed = {t["key"]: t for t in alice.get("/conversation-templates").get_json()}
    assert set(listed["processing_a_trigger"]["role_titles"]) == set(template["roles"])


def test_naming_one_role_twice_through_its_old_key_is_refused(alice, bob, couple):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Conversation))
    body = {
        "template": "processing_a_trigger",
        "roles": {"hurt_partner": alice.user["id"], "triggered_partner": bob.user["id"]},
    }
    assert_problem(alice.post("/couple/conversations", json=body), 422, "roles")
    # an old key only works for the template it belonged to
    body = {"template": "looking_back_at_an_incident", "roles": {"hurt_partner": alice.user["id"]}}
    assert_problem(alice.post("/couple/conversations", json=body), 422, "roles")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == before


def test_the_triggers_plan_swaps_who_is_planned_for(alice, bob, couple):
    partners = {alice.user["id"]: alice, bob.user["id"]: bob}
    conversation = start(alice, "triggers_plan", "triggered_partner", alice)
    steps = templates()["triggers_plan"]["steps"]
    planned_for = []
    for step in steps[:-1]:
        if step["writers"] == "triggered_partner":
            planned_for.append(conversation["current_step"]["expected_writers"][0]["id"])
        conversation = step_through(conversation, partners)
    assert planned_for[0] == alice.user["id"] and planned_for[-1] == bob.user["id"]


def test_speaker_and_listener_swap_where_the_template_says(alice, bob, couple):
    partners = {alice.user["id"]: alice, bob.user["id"]: bob}
    conversation = start(alice, "speaker_listener_older_hurt", "speaker", bob)
    steps = templates()["speaker_listener_older_hurt"]["steps"]
    speakers = []
    for step in steps[:-1]:
        if step["writers"] == "speaker":
            speakers.append(conversation["current_step"]["expected_writers"][0]["id"])
        conversation = step_through(conversation, partners)
    assert speakers[0] == bob.user["id"] and speakers[-1] == alice.user["id"]


def test_entry_text_never_reaches_the_timeline_or_notifications(alice, bob, couple):
    partners = {alice.user["id"]: alice, bob.user["id"]: bob}
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    secret = "the message from work scared me"
    ok(alice.post(f"/conversations/{conversation['id']}/entries", json={"text": secret}), 201)
    for partner in partners.values():
        ok(partner.post(f"/conversations/{conversation['id']}/ready"))
    stored = [e.summary for e in db.session.scalars(sa.select(TimelineEvent))] + [
        n.body for n in db.session.scalars(sa.select(Notification))
    ]
    assert stored
    assert all(secret not in text for text in stored)
    assert secret not in ok_text(alice.get("/couple/timeline"))


def test_either_partner_may_abandon(alice, bob, couple):
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    response = bob.post(f"/conversations/{conversation['id']}/abandon")
    assert response.status_code == 200 and response.get_json()["status"] == "abandoned"
    assert told(alice, "conversation_abandoned") == 1
    assert_problem(
        alice.post(f"/conversations/{conversation['id']}/entries", json={"text": "x"}), 409
    )
    assert_problem(bob.post(f"/conversations/{conversation['id']}/abandon"), 409)


def test_an_ended_couples_conversation_is_read_only(alice, bob, couple):
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    alice.post(f"/conversations/{conversation['id']}/entries", json={"text": "Before"})
    bob.post("/couple/leave", json={})
    cid = conversation["id"]
    assert_problem(alice.post(f"/conversations/{cid}/entries", json={"text": "After"}), 409)
    assert_problem(alice.post(f"/conversations/{cid}/ready"), 409)
    assert_problem(alice.post(f"/conversations/{cid}/pause", json={}), 409)
    view = bob.get(f"/conversations/{cid}").get_json()
    assert view["steps"][0]["entries"][0]["text"] == "Before"
    assert_problem(
        alice.post(
            "/couple/conversations",
            json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
        ),
        409,
    )


def test_list_is_newest_first(alice, couple):
    first = start(alice, "processing_a_trigger", "hurt_partner", alice)["id"]
    second = start(alice, "looking_back_at_an_incident", "speaker", alice)["id"]
    listed = [c["id"] for c in alice.get("/couple/conversations").get_json()["items"]]
    assert set(listed) == {first, second}
