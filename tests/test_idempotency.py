"""A retried POST with the same Idempotency-Key replays the first response."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.accounts.models import AuthSession
from backend.extensions import db
from backend.idempotency.models import IdempotencyRecord
from tests.helpers import PASSWORD, assert_problem


def change_password(user, new, key):
    return user.post(
        "/me/password",
        json={"current_password": PASSWORD, "new_password": new},
        headers={"Idempotency-Key": key},
    )


def sessions_revoked() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuthSession)
        .where(AuthSession.revoked_at.isnot(None))
    )


def test_same_key_replays_the_first_response_and_writes_nothing(api, alice):
    api.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    first = change_password(alice, "the new password", "key-1")
    assert first.status_code == 204
    revoked = sessions_revoked()
    again = change_password(alice, "the new password", "key-1")
    assert again.status_code == 204
    assert again.headers["Idempotent-Replayed"] == "true"
    assert sessions_revoked() == revoked
    # the replay did not run the change a second time (it would fail: current password changed)


def test_replay_has_the_same_status_and_body_even_for_errors(alice):
    first = change_password(alice, "short", "key-2")
    again = change_password(alice, "short", "key-2")
    assert first.status_code == again.status_code == 422
    assert first.get_json()["errors"] == again.get_json()["errors"]


def test_same_key_with_a_different_body_is_422(alice):
    change_password(alice, "the new password", "key-3")
    response = change_password(alice, "another password", "key-3")
    assert_problem(response, 422, "Idempotency-Key")


def test_same_key_on_a_different_path_is_422(alice):
    alice.post("/auth/logout", headers={"Idempotency-Key": "key-4"})
    # logged out now, so log in again and reuse the key elsewhere
    response = change_password(alice, "the new password", "key-4")
    assert response.status_code == 401


def test_keys_are_per_user(alice, bob):
    assert change_password(alice, "alice new password", "shared-key").status_code == 204
    response = change_password(bob, "bob new password", "shared-key")
    assert response.status_code == 204
    assert "Idempotent-Replayed" not in response.headers


def test_keys_expire_after_24_hours(alice):
    assert change_password(alice, "the new password", "key-5").status_code == 204
    with time_machine.travel(clock.now() + timedelta(hours=24, minutes=1), tick=False):
        alice.tokens = alice.client.post(
            "/api/v1/auth/login",
            json={"email": "alice@example.com", "password": "the new password"},
        ).get_json()
        response = change_password(alice, "the new password", "key-5")
    # the old record is gone, so the request ran again (and the current password is wrong now)
    assert_problem(response, 422, "current_password")


def test_a_malformed_key_is_rejected(alice):
    response = change_password(alice, "the new password", "has spaces in it")
    assert_problem(response, 422, "Idempotency-Key")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0


def test_a_key_still_in_flight_is_409(app, alice):
    from backend.idempotency.middleware import _request_hash

    body = {"current_password": PASSWORD, "new_password": "the new password"}
    with app.test_request_context("/api/v1/me/password", method="POST", json=body):
        same_request = _request_hash()
    db.session.add(
        IdempotencyRecord(user_id=alice.user["id"], key="busy", request_hash=same_request)
    )
    db.session.commit()
    body = assert_problem(change_password(alice, "the new password", "busy"), 409)
    assert "still being processed" in body["detail"]


def test_a_5xx_forgets_the_key_so_the_client_can_retry(app, alice, monkeypatch):
    from backend.accounts import service

    def broken(**kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(service, "change_password", broken)
    assert change_password(alice, "the new password", "key-6").status_code == 500
    monkeypatch.undo()
    assert change_password(alice, "the new password", "key-6").status_code == 204


def test_anonymous_posts_ignore_the_key(api):
    body = {"email": "c@example.com", "password": PASSWORD, "display_name": "C"}
    first = api.post("/auth/register", json=body, headers={"Idempotency-Key": "reg"})
    assert first.status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0


def test_auth_endpoints_never_store_tokens_even_with_a_bearer(alice):
    response = alice.post(
        "/auth/login",
        json={"email": "alice@example.com", "password": PASSWORD},
        headers={"Idempotency-Key": "login-key"},
    )
    assert response.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0


def test_a_key_left_pending_by_a_dead_worker_is_taken_over(app, alice):
    from backend.idempotency.middleware import _request_hash

    body = {"current_password": PASSWORD, "new_password": "the new password"}
    with app.test_request_context("/api/v1/me/password", method="POST", json=body):
        same_request = _request_hash()
    db.session.add(
        IdempotencyRecord(
            user_id=alice.user["id"],
            key="orphan",
            request_hash=same_request,
            created_at=clock.now() - timedelta(minutes=3),
        )
    )
    db.session.commit()
    assert change_password(alice, "the new password", "orphan").status_code == 204


def test_pairing_codes_are_never_stored_by_idempotency(alice):
    response = alice.post("/pairing-invites", headers={"Idempotency-Key": "invite-key"})
    assert response.status_code == 201
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == 0
