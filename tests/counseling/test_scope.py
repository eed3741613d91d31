"""What a counselor sees: the scope matrix, and never anything private."""

from __future__ import annotations

import pytest

from tests.conversations.helpers import start
from tests.counseling.helpers import link, propose
from tests.helpers import answers_for, assert_problem, make_counselor, ok_json

PRIVATE = "my private fear that I never told anyone"
SHARED = "what I am grateful for this week"
ENTRY = "the words of our conversation"


@pytest.fixture
def content(alice, bob, couple):
    """A revealed check-in with a shared and a private answer, and a conversation entry."""
    checkin = alice.post("/couple/checkins", json={"prompt_set": "weekly_trust_checkin"}).get_json()
    answers = answers_for(checkin, text=SHARED)
    text_answers = [a for a in answers if isinstance(a["value"], str) and a["value"] == SHARED]
    text_answers[0].update(value=PRIVATE, visibility="private")
    alice.put(f"/checkins/{checkin['id']}/answers", json={"answers": answers, "submit": True})
    bob.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin, text=SHARED), "submit": True},
    )
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    alice.post(f"/conversations/{conversation['id']}/entries", json={"text": ENTRY})
    return checkin


def seen_by(counselor, couple) -> tuple[int, str]:
    response = counselor.get(f"/counselor/couples/{couple['id']}")
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("scope", ["progress", "shared_content"])
def test_a_linked_counselor_sees_progress_and_content_only_with_shared_content(
    scope, alice, bob, couple, counselor, content
):
    link(alice, bob, counselor, scope)
    status, text = seen_by(counselor, couple)
    assert status == 200
    body = counselor.get(f"/counselor/couples/{couple['id']}").get_json()
    assert body["progress"]["checkins_completed_4w"] == 1
    assert {e["kind"] for e in body["timeline"]} >= {"checkin_revealed", "conversation_started"}
    assert PRIVATE not in text
    assert "@" not in text  # no e-mail addresses
    if scope == "progress":
        assert body["shared_checkins"] is None and body["conversations"] is None
        assert SHARED not in text and ENTRY not in text
    else:
        assert SHARED in text and ENTRY in text


@pytest.mark.parametrize("state", ["pending", "revoked", "other_counselor", "ended_couple"])
@pytest.mark.parametrize("scope", ["progress", "shared_content"])
def test_without_an_active_link_the_counselor_sees_nothing(
    state, scope, app, alice, bob, couple, counselor, content
):
    viewer = counselor
    if state == "pending":
        propose(alice, counselor, scope)
    elif state == "revoked":
        linked = link(alice, bob, counselor, scope)
        alice.delete(f"/counselor-links/{linked['id']}")
    elif state == "other_counselor":
        link(alice, bob, counselor, scope)
        viewer = make_counselor(app, "dr.other@example.com", "Dr Other")
    else:
        link(alice, bob, counselor, scope)
        bob.post("/couple/leave", json={})
    status, text = seen_by(viewer, couple)
    assert status == 404
    assert SHARED not in text and PRIVATE not in text and ENTRY not in text
    assert couple["id"] not in str(ok_json(viewer.get("/counselor/couples")))
    response = viewer.post(
        f"/counselor/couples/{couple['id']}/exercises",
        json={"kind": "reflection", "prompts": ["x"]},
    )
    assert_problem(response, 404)


def test_trends_for_a_counselor_hold_only_shared_revealed_ratings(
    alice, bob, couple, counselor, content
):
    link(alice, bob, counselor, "shared_content")
    scale = next(p for p in content["prompts"] if p["kind"] == "scale")
    body = counselor.get(f"/counselor/couples/{couple['id']}?prompt={scale['key']}").get_json()
    series = {s["display_name"]: s["points"] for s in body["trends"]["series"]}
    assert len(series["Alice"]) == 1 and len(series["Bob"]) == 1
    assert not any(s["is_me"] for s in body["trends"]["series"])


def test_a_partner_cannot_use_counselor_views(alice, couple):
    assert_problem(alice.get("/counselor/couples"), 404)
    assert_problem(alice.get(f"/counselor/couples/{couple['id']}"), 404)
    assert_problem(alice.post("/counselor/link-codes"), 404)


def test_with_progress_scope_there_are_no_ratings(alice, bob, couple, counselor, content):
    link(alice, bob, counselor, "progress")
    scale = next(p for p in content["prompts"] if p["kind"] == "scale")
    body = ok_json(counselor.get(f"/counselor/couples/{couple['id']}?prompt={scale['key']}"))
    assert body["trends"] is None
