"""Linking a counselor needs both partners' consent; either partner (or the counselor) ends it."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.extensions import db
from backend.notifications.models import Notification
from tests.counseling.helpers import link, link_code, propose
from tests.helpers import assert_problem, make_counselor


def told(user, kind) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.user["id"], Notification.kind == kind)
    )


def test_a_counselor_makes_a_code_partners_cannot(counselor, alice):
    response = counselor.post("/counselor/link-codes")
    assert response.status_code == 201
    assert len(response.get_json()["code"]) == 8
    assert_problem(alice.post("/counselor/link-codes"), 404)


def test_the_link_is_pending_until_the_other_partner_consents(alice, bob, couple, counselor):
    proposed = propose(alice, counselor)
    assert proposed["status"] == "pending" and proposed["scope"] == "progress"
    assert told(bob, "counselor_link_proposed") == 1
    assert counselor.get("/counselor/couples").get_json() == []
    assert_problem(counselor.get(f"/counselor/couples/{couple['id']}"), 404)
    assert_problem(alice.post(f"/counselor-links/{proposed['id']}/consent"), 409)
    consented = bob.post(f"/counselor-links/{proposed['id']}/consent")
    assert consented.status_code == 200 and consented.get_json()["status"] == "active"
    assert [c["id"] for c in counselor.get("/counselor/couples").get_json()] == [couple["id"]]
    assert told(counselor, "counselor_linked") == 1


def test_proposing_and_consenting_need_a_recent_password_login(alice, bob, couple, counselor):
    code = link_code(counselor)
    with time_machine.travel(clock.now() + timedelta(minutes=6), tick=False):
        body = assert_problem(alice.post("/couple/counselor-links", json={"code": code}), 401)
        assert "recent password login" in body["detail"]
        refreshed = alice.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": alice.tokens["refresh_token"]}
        ).get_json()
        alice.tokens = refreshed
        assert_problem(alice.post("/couple/counselor-links", json={"code": code}), 401)
        alice.login()
        proposed = alice.post("/couple/counselor-links", json={"code": code}).get_json()
        assert_problem(bob.post(f"/counselor-links/{proposed['id']}/consent"), 401)
        assert bob.login().post(f"/counselor-links/{proposed['id']}/consent").status_code == 200


def test_codes_are_single_use_and_expire(app, alice, bob, couple, counselor, carol):
    code = link_code(counselor)
    assert alice.post("/couple/counselor-links", json={"code": code}).status_code == 201
    assert_problem(carol.post("/couple/counselor-links", json={"code": code}), 404)
    old = link_code(make_counselor(app, "dr.old@example.com", "Dr Old"))
    with time_machine.travel(clock.now() + timedelta(days=7, seconds=1), tick=False):
        assert_problem(carol.login().post("/couple/counselor-links", json={"code": old}), 404)


def test_bad_input_is_named(alice, couple, counselor):
    code = link_code(counselor)
    assert_problem(
        alice.post("/couple/counselor-links", json={"code": code, "scope": "all"}), 422, "scope"
    )
    assert_problem(alice.post("/couple/counselor-links", json={}), 422, "code")
    assert alice.get("/couple/counselor-links").get_json() == []


def test_either_partner_or_the_counselor_ends_the_link_at_once(alice, bob, couple, counselor):
    for ender in ("alice", "bob", "counselor"):
        linked = link(alice, bob, counselor)
        who = {"alice": alice, "bob": bob, "counselor": counselor}[ender]
        assert who.delete(f"/counselor-links/{linked['id']}").status_code == 204
        assert_problem(counselor.get(f"/counselor/couples/{couple['id']}"), 404)
        assert_problem(who.delete(f"/counselor-links/{linked['id']}"), 409)
    assert told(alice, "counselor_link_ended") == 3 and told(bob, "counselor_link_ended") == 3


def test_links_end_with_the_couple(alice, bob, couple, counselor):
    link(alice, bob, counselor)
    bob.post("/couple/leave", json={})
    assert counselor.get("/counselor/couples").get_json() == []
    assert_problem(counselor.get(f"/counselor/couples/{couple['id']}"), 404)


def test_a_couple_may_have_several_counselors_and_a_counselor_many_couples(
    app, alice, bob, couple, counselor, carol
):
    other = make_counselor(app, "dr.lee@example.com", "Dr Lee")
    link(alice, bob, counselor)
    link(alice, bob, other)
    assert len(alice.get("/couple/counselor-links").get_json()) == 2
    dave = carol  # carol's partner consents through the fixture's pairing
    proposed = propose(dave, counselor)
    assert proposed["status"] == "pending"


def test_another_couples_partner_cannot_touch_a_link(alice, bob, couple, counselor, carol):
    proposed = propose(alice, counselor)
    assert_problem(carol.post(f"/counselor-links/{proposed['id']}/consent"), 404)
    assert_problem(carol.delete(f"/counselor-links/{proposed['id']}"), 404)


def notes_of(user, kind) -> list[Notification]:
    return db.session.scalars(
        sa.select(Notification).where(
            Notification.user_id == user.user["id"], Notification.kind == kind
        )
    ).all()


def test_a_revoked_counselor_is_not_told_which_partner_revoked(alice, bob, couple, counselor):
    for revoker in (alice, bob):
        linked = link(alice, bob, counselor)
        assert revoker.delete(f"/counselor-links/{linked['id']}").status_code == 204
    told_counselor = notes_of(counselor, "counselor_link_ended")
    assert len(told_counselor) == 2
    for note in told_counselor:
        for name in ("Alice", "Bob"):
            assert name not in note.title and name not in note.body
    # The partners are told who: between two people the name hides nothing.
    assert "Bob ended the link" in notes_of(alice, "counselor_link_ended")[-1].body
    # Linked again later, the counselor reads the couple's timeline: it names no one either.
    link(alice, bob, counselor)
    detail = counselor.get(f"/counselor/couples/{couple['id']}").get_json()
    ended = [e for e in detail["timeline"] if e["kind"] == "counselor_link_ended"]
    assert len(ended) == 2
    for event in ended:
        assert event["actor_id"] is None
        assert "Alice" not in event["summary"] and "Bob" not in event["summary"]


def test_a_counselor_who_ends_the_link_is_named_and_not_told(alice, bob, couple, counselor):
    linked = link(alice, bob, counselor)
    assert counselor.delete(f"/counselor-links/{linked['id']}").status_code == 204
    assert notes_of(counselor, "counselor_link_ended") == []
    assert "Counselor Dr Kim ended the link." in notes_of(alice, "counselor_link_ended")[0].body
