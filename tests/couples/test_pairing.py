"""Pairing two partners with a single-use code."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.codes import ALPHABET as CODE_ALPHABET
from backend.couples.models import Couple, PairingInvite
from backend.extensions import db
from backend.notifications.models import Notification
from tests.helpers import assert_problem


def couples_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Couple))


def test_invite_is_an_eight_character_code_without_look_alikes(alice):
    response = alice.post("/pairing-invites")
    assert response.status_code == 201
    body = response.get_json()
    assert re.fullmatch(f"[{CODE_ALPHABET}]{{8}}", body["code"])
    assert not set("01ILO") & set(body["code"])
    assert body["expires_at"].endswith("Z")


def test_invite_expires_after_24_hours(alice):
    before = clock.now()
    expires = alice.post("/pairing-invites").get_json()["expires_at"]
    delta = clock.now().fromisoformat(expires.replace("Z", "+00:00")) - before
    assert timedelta(hours=23, minutes=59) <= delta <= timedelta(hours=24, minutes=1)


def test_the_code_itself_is_not_stored(alice):
    code = alice.post("/pairing-invites").get_json()["code"]
    invite = db.session.scalar(sa.select(PairingInvite))
    assert code not in invite.code_hash


def test_accepting_forms_the_couple_with_the_inviters_timezone(alice, bob):
    alice.patch("/me", json={"timezone": "Europe/Berlin"})
    code = alice.post("/pairing-invites").get_json()["code"]
    response = bob.post("/pairing-invites/accept", json={"code": code.lower()})
    assert response.status_code == 201
    couple = response.get_json()
    assert couple["status"] == "active"
    assert couple["timezone"] == "Europe/Berlin"
    assert sorted(m["display_name"] for m in couple["members"]) == ["Alice", "Bob"]
    assert alice.get("/couple").get_json()["id"] == couple["id"]


def test_the_answer_to_accepting_is_what_reading_the_couple_shows_next(alice, bob):
    code = alice.post("/pairing-invites").get_json()["code"]
    accepted = bob.post("/pairing-invites/accept", json={"code": code})
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json() == bob.get("/couple").get_json() == alice.get("/couple").get_json()


def test_the_inviter_is_told_they_are_paired(alice, bob, couple):
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "paired")).all()
    assert [n.user_id for n in notes] == [alice.user["id"]]


def test_a_code_works_once(app, alice, bob):
    from tests.helpers import make_partner

    code = alice.post("/pairing-invites").get_json()["code"]
    assert bob.post("/pairing-invites/accept", json={"code": code}).status_code == 201
    eve = make_partner(app, "eve@example.com", "Eve")
    assert_problem(eve.post("/pairing-invites/accept", json={"code": code}), 404)


def test_unknown_code_is_404(bob):
    assert_problem(bob.post("/pairing-invites/accept", json={"code": "ABCDEFGH"}), 404)


def test_expired_code_is_404(alice, bob):
    code = alice.post("/pairing-invites").get_json()["code"]
    with time_machine.travel(clock.now() + timedelta(hours=24, seconds=1), tick=False):
        assert_problem(bob.login().post("/pairing-invites/accept", json={"code": code}), 404)
    assert couples_count() == 0


def test_a_new_invite_replaces_the_previous_one(alice, bob):
    old = alice.post("/pairing-invites").get_json()["code"]
    new = alice.post("/pairing-invites").get_json()["code"]
    assert_problem(bob.post("/pairing-invites/accept", json={"code": old}), 404)
    assert bob.post("/pairing-invites/accept", json={"code": new}).status_code == 201


def test_accepting_your_own_code_is_422(alice):
    code = alice.post("/pairing-invites").get_json()["code"]
    assert_problem(alice.post("/pairing-invites/accept", json={"code": code}), 422, "code")
    assert couples_count() == 0


def test_someone_already_paired_cannot_accept_or_invite(app, alice, bob, couple):
    from tests.helpers import make_partner

    eve = make_partner(app, "eve@example.com", "Eve")
    code = eve.post("/pairing-invites").get_json()["code"]
    assert_problem(bob.post("/pairing-invites/accept", json={"code": code}), 409)
    assert_problem(alice.post("/pairing-invites"), 409)
    assert couples_count() == 1


def test_a_code_of_someone_who_paired_elsewhere_is_void_and_reveals_nothing(app, alice, bob):
    from tests.helpers import make_partner

    code = alice.post("/pairing-invites").get_json()["code"]
    eve = make_partner(app, "eve@example.com", "Eve")
    eve_code = eve.post("/pairing-invites").get_json()["code"]
    assert alice.post("/pairing-invites/accept", json={"code": eve_code}).status_code == 201
    body = assert_problem(bob.post("/pairing-invites/accept", json={"code": code}), 404)
    assert "paired" not in body["detail"]


def test_counselors_cannot_pair(counselor, alice):
    assert_problem(counselor.post("/pairing-invites"), 404)
    code = alice.post("/pairing-invites").get_json()["code"]
    assert_problem(counselor.post("/pairing-invites/accept", json={"code": code}), 404)


def test_ten_wrong_codes_in_an_hour_is_429(alice, bob):
    for _ in range(10):
        assert bob.post("/pairing-invites/accept", json={"code": "ZZZZZZZZ"}).status_code == 404
    code = alice.post("/pairing-invites").get_json()["code"]
    response = bob.post("/pairing-invites/accept", json={"code": code})
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    with time_machine.travel(clock.now() + timedelta(hours=1, seconds=1), tick=False):
        assert bob.login().post("/pairing-invites/accept", json={"code": code}).status_code == 201


def test_bad_input_is_named_and_writes_nothing(bob):
    assert_problem(bob.post("/pairing-invites/accept", json={}), 422, "code")
    assert_problem(bob.post("/pairing-invites/accept", json={"code": 12345678}), 422, "code")
    assert couples_count() == 0
