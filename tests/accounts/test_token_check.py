"""The token check of every guarded route (`accounts.access.authenticate`: one parse of the
token, one query for the session and the caller's couple) answers every bad token exactly as
flask-jwt-extended's own check does on the routes that still use it (`/prompts`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
import time_machine

from backend import clock
from tests.helpers import ApiClient, assert_problem, make_partner

GUARDED = "/couple/timeline"  # backend.access.with_couple
LIBRARY = "/prompts"  # flask_jwt_extended.jwt_required


def answers(api: ApiClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The 401 bodies of the guarded route and of flask-jwt-extended's, without request ids."""
    bodies = []
    for path in (GUARDED, LIBRARY):
        response = api.get(path, headers=headers)
        body = assert_problem(response, 401)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        body.pop("request_id", None)
        bodies.append(body)
    return bodies


def forged(claims: dict[str, Any], key: str = "another key entirely, 32 bytes long") -> str:
    return jwt.encode(claims, key, algorithm="HS256")


@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Bearer a b", "Basic abc", "Bearer not.a.token", "Bearer e30.e30.e30"],
)
def test_a_missing_or_malformed_token_is_refused_alike(api, alice, couple, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    guarded, library = answers(api, headers)
    assert guarded == library


def test_a_token_signed_with_another_key_or_none_is_refused_alike(api, alice, couple):
    claims = jwt.decode(alice.access_token, options={"verify_signature": False})
    for token in (forged(claims), jwt.encode(claims, key=None, algorithm="none")):
        guarded, library = answers(api, {"Authorization": f"Bearer {token}"})
        assert guarded == library
        assert guarded["detail"] == "The access token is not valid."


def test_an_expired_token_is_refused_alike(api, alice, couple):
    with time_machine.travel(clock.now() + timedelta(minutes=16), tick=False):
        guarded, library = answers(api, {"Authorization": f"Bearer {alice.access_token}"})
    assert guarded == library
    assert guarded["detail"] == "The access token has expired. Refresh it or log in again."


def test_a_refresh_token_is_no_access_token(api, alice, couple):
    guarded, library = answers(api, {"Authorization": f"Bearer {alice.tokens['refresh_token']}"})
    assert guarded == library


def test_an_ended_session_is_refused_on_the_next_request(api, alice, couple):
    token = alice.access_token
    assert alice.get(GUARDED).status_code == 200
    assert alice.post("/auth/logout").status_code == 204
    guarded, library = answers(api, {"Authorization": f"Bearer {token}"})
    assert guarded == library
    assert guarded["detail"] == "This session has ended. Please log in again."


def test_the_couple_found_with_the_session_is_the_callers(app, alice, bob, carol, couple):
    # Erin has no couple: 404, not anyone's timeline; Alice and Bob read theirs, Carol hers.
    assert_problem(make_partner(app, "erin@example.com", "Erin").get(GUARDED), 404)
    first = {
        name: person.get(GUARDED).get_json()["items"][0]
        for name, person in (("alice", alice), ("bob", bob), ("carol", carol))
    }
    assert first["alice"] == first["bob"]
    assert first["alice"]["subject"]["id"] == couple["id"]
    assert first["carol"]["subject"]["id"] != couple["id"]


def test_after_leaving_the_timeline_is_still_the_ended_couples(alice, bob, couple):
    assert alice.post("/couple/leave").status_code in (200, 204)
    first = alice.get(GUARDED)
    assert first.status_code == 200
    assert first.get_json()["items"][0]["kind"] == "partner_left"


def test_a_token_seen_before_still_expires(api, alice, couple):
    # The signature of a token is checked once and kept; its times are checked every time.
    assert alice.get(GUARDED).status_code == 200
    with time_machine.travel(clock.now() + timedelta(minutes=16), tick=False):
        guarded, library = answers(api, {"Authorization": f"Bearer {alice.access_token}"})
    assert guarded == library
    assert guarded["detail"] == "The access token has expired. Refresh it or log in again."
    assert alice.get(GUARDED).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"nbf": 600},
        {"iat": 600},
        {"exp": "soon"},
        {"nbf": "later"},
        {"iat": "then"},
        {"sub": None},
        {"sub": 42},
    ],
    ids=lambda change: "-".join(f"{k}={v}" for k, v in change.items()),
)
def test_a_token_signed_with_our_key_but_wrong_in_form_or_time_is_refused_alike(
    app, api, alice, couple, change
):
    claims = jwt.decode(alice.access_token, options={"verify_signature": False})
    now = int(clock.now().timestamp())
    for claim, value in change.items():
        if value is None:
            claims.pop(claim)
        else:
            claims[claim] = now + value if isinstance(value, int) and claim != "sub" else value
    token = forged(claims, key=app.config["JWT_SECRET_KEY"])
    guarded, library = answers(api, {"Authorization": f"Bearer {token}"})
    assert guarded == library
