"""Single-use codes (backend/codes.py): made readable, stored hashed, redeemed once, guessed
wrong only so often. Pairing and counselor links are its users; these are its own rules."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from backend import clock, codes
from backend.couples.models import PairingInvite
from backend.errors import NotFound, RateLimited
from backend.extensions import db

UNKNOWN = "unknown, used or expired"


@pytest.fixture
def inviter_id(alice) -> str:
    return alice.user["id"]


def stored(inviter_id: str, code: str, *, lifetime: timedelta = timedelta(hours=1)) -> Any:
    row = PairingInvite(
        code_hash=codes.hash_code(code), inviter_id=inviter_id, expires_at=clock.now() + lifetime
    )
    db.session.add(row)
    db.session.commit()
    return row


def find(code: str, guesser: str = "guesser") -> PairingInvite:
    return codes.find_unused(
        PairingInvite,
        code,
        now=clock.now(),
        limit=codes.WrongCodes("test-code"),
        guesser=guesser,
        unknown=UNKNOWN,
    )


def test_a_code_has_eight_unambiguous_characters():
    made = {codes.generate() for _ in range(200)}
    assert len(made) == 200
    for code in made:
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{8}", code)
        assert not set(code) & set("0O1IL")


def test_case_spaces_and_dashes_do_not_matter(app):
    assert (
        codes.hash_code("k7mx 3qpa") == codes.hash_code("K7MX-3QPA") == codes.hash_code("K7MX3QPA")
    )
    assert codes.hash_code("K7MX3QPA") != codes.hash_code("K7MX3QPB")


def test_the_hash_is_keyed_with_the_secret(app):
    first = codes.hash_code("K7MX3QPA")
    app.config["SECRET_KEY"] = "another-secret-key-that-is-long-enough-for-hs256"
    try:
        assert codes.hash_code("K7MX3QPA") != first
    finally:
        app.config["SECRET_KEY"] = "test-secret-key-that-is-long-enough-for-hs256"
    assert "K7MX3QPA" not in first


def test_a_stored_code_is_found_however_it_is_typed(inviter_id):
    row = stored(inviter_id, "K7MX3QPA")
    assert find(" k7mx-3qpa ").id == row.id


def test_an_unknown_or_expired_code_is_404(inviter_id):
    stored(inviter_id, "EXPRD234", lifetime=-timedelta(seconds=1))
    for code in ("NOSUCH23", "EXPRD234"):
        with pytest.raises(NotFound) as raised:
            find(code)
        assert raised.value.detail == UNKNOWN


def test_a_code_is_claimed_once(inviter_id):
    row = stored(inviter_id, "ONCE2345")
    now = clock.now()
    assert codes.claim_code(row, now=now) is True
    assert codes.claim_code(row, now=now) is False
    db.session.commit()
    with pytest.raises(NotFound):
        find("ONCE2345")


def test_wrong_codes_are_limited_per_person(inviter_id):
    row = stored(inviter_id, "RIGHT234")
    for _ in range(10):
        with pytest.raises(NotFound):
            find("WRONG234", guesser="mallory")
    with pytest.raises(RateLimited):
        find("RIGHT234", guesser="mallory")
    # Someone else's wrong codes cost this person nothing.
    assert find("RIGHT234", guesser="alice").id == row.id
