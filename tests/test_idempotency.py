"""A retried POST with the same Idempotency-Key replays the first response."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import sqlalchemy as sa
import time_machine
from flask import request

from backend import clock
from backend.extensions import api as smorest_api
from backend.extensions import db
from backend.idempotency.middleware import _request_hash, is_exempt
from backend.idempotency.models import IdempotencyRecord
from backend.journal.models import JournalEntry
from tests.helpers import PASSWORD, assert_problem


def write(user, text, key):
    return user.post("/me/journal", json={"text": text}, headers={"Idempotency-Key": key})


def change_password(user, new, key):
    return user.post(
        "/me/password",
        json={"current_password": PASSWORD, "new_password": new},
        headers={"Idempotency-Key": key},
    )


def entries() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))


def records() -> list[IdempotencyRecord]:
    return list(db.session.scalars(sa.select(IdempotencyRecord)))


def fingerprint_of(app, path, body) -> str:
    with app.test_request_context(path, method="POST", json=body):
        return _request_hash()


def test_same_key_replays_the_first_response_and_writes_nothing(alice):
    first = write(alice, "A calm evening.", "key-1")
    assert first.status_code == 201
    again = write(alice, "A calm evening.", "key-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert entries() == 1


def test_replay_has_the_same_status_and_body_even_for_errors(alice):
    first = alice.post("/me/journal", json={"text": ""}, headers={"Idempotency-Key": "key-2"})
    again = alice.post("/me/journal", json={"text": ""}, headers={"Idempotency-Key": "key-2"})
    assert first.status_code == again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["errors"] == again.get_json()["errors"]


def test_same_key_with_a_different_body_is_422(alice):
    write(alice, "A calm evening.", "key-3")
    response = write(alice, "Another evening.", "key-3")
    assert_problem(response, 422, "Idempotency-Key")
    assert entries() == 1


def test_same_key_on_a_different_path_is_422(alice):
    write(alice, "A calm evening.", "key-4")
    response = alice.post(
        "/me/notifications/read", json={"all": True}, headers={"Idempotency-Key": "key-4"}
    )
    assert_problem(response, 422, "Idempotency-Key")


def test_keys_are_per_user(alice, bob):
    assert write(alice, "Same words.", "shared-key").status_code == 201
    response = write(bob, "Same words.", "shared-key")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert entries() == 2


def test_keys_expire_after_24_hours(alice):
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        assert write(alice, "A calm evening.", "key-5").status_code == 201
        traveller.shift(timedelta(hours=24, minutes=1))
        alice.login()
        response = write(alice, "A calm evening.", "key-5")
    # the old record is gone, so the request ran again
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert entries() == 2


def test_a_malformed_key_is_rejected(alice):
    response = write(alice, "A calm evening.", "has spaces in it")
    assert_problem(response, 422, "Idempotency-Key")
    assert records() == []
    assert entries() == 0


def test_a_key_still_in_flight_is_409(app, alice):
    same_request = fingerprint_of(app, "/api/v1/me/journal", {"text": "A calm evening."})
    db.session.add(
        IdempotencyRecord(user_id=alice.user["id"], key="busy", request_hash=same_request)
    )
    db.session.commit()
    body = assert_problem(write(alice, "A calm evening.", "busy"), 409)
    assert "still being processed" in body["detail"]
    assert entries() == 0


def test_a_5xx_forgets_the_key_so_the_client_can_retry(app, alice, monkeypatch):
    from backend.journal import service

    def broken(**kwargs):
        raise RuntimeError("database fell over")

    monkeypatch.setattr(service, "write", broken)
    assert write(alice, "A calm evening.", "key-6").status_code == 500
    monkeypatch.undo()
    retried = write(alice, "A calm evening.", "key-6")
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers


def test_a_401_for_a_fresh_login_forgets_the_key_so_the_retry_after_logging_in_works(alice):
    device = {"platform": "ios", "token": "phone-token-1"}
    headers = {"Idempotency-Key": "key-fresh"}
    with time_machine.travel(clock.now() + timedelta(minutes=6), tick=False):
        alice.login()
    # the login is no longer fresh: adding a device is refused, and nothing is kept of it
    with time_machine.travel(clock.now() + timedelta(minutes=12), tick=False):
        assert_problem(alice.post("/me/devices", json=device, headers=headers), 401)
        retried = alice.login().post("/me/devices", json=device, headers=headers)
    assert retried.status_code == 201, retried.get_json()
    assert "Idempotent-Replayed" not in retried.headers
    stored = db.session.scalars(sa.select(IdempotencyRecord.status_code)).all()
    assert stored == [201]


def test_anonymous_posts_ignore_the_key(api):
    body = {"email": "c@example.com", "password": PASSWORD, "display_name": "C"}
    first = api.post("/auth/register", json=body, headers={"Idempotency-Key": "reg"})
    assert first.status_code == 201
    assert records() == []


def test_a_key_left_pending_by_a_dead_worker_is_taken_over(app, alice):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        same_request = fingerprint_of(app, "/api/v1/me/journal", {"text": "A calm evening."})
        db.session.add(
            IdempotencyRecord(
                user_id=alice.user["id"],
                key="orphan",
                request_hash=same_request,
                created_at=start - timedelta(minutes=3),
            )
        )
        db.session.commit()
        assert write(alice, "A calm evening.", "orphan").status_code == 201
    assert entries() == 1


def test_auth_endpoints_never_store_tokens_even_with_a_bearer(alice):
    response = alice.post(
        "/auth/login",
        json={"email": "alice@example.com", "password": PASSWORD},
        headers={"Idempotency-Key": "login-key"},
    )
    assert response.status_code == 200
    assert records() == []


def test_pairing_codes_are_never_stored_by_idempotency(alice):
    response = alice.post("/pairing-invites", headers={"Idempotency-Key": "invite-key"})
    assert response.status_code == 201
    assert records() == []


def test_a_retried_password_change_stores_no_trace_of_either_password(alice):
    first = change_password(alice, "the new password", "pw-key")
    assert first.status_code == 204
    assert records() == []
    # not replayed: the retry runs again, and the password it names is no longer the current one
    again = change_password(alice, "the new password", "pw-key")
    assert "Idempotent-Replayed" not in again.headers
    assert_problem(again, 422, "current_password")
    assert records() == []


def test_a_password_change_with_a_malformed_key_is_not_refused_for_the_key(alice):
    # a view that takes no part never looks at the key, like /auth/*
    assert change_password(alice, "the new password", "has spaces in it").status_code == 204


def test_fingerprints_are_keyed_with_the_servers_secret(app, alice, monkeypatch):
    body = {"text": "4711"}
    assert write(alice, "4711", "keyed").status_code == 201
    (stored,) = records()
    # not the plain hash anyone could compute from a guess of the body (as it used to be)...
    with app.test_request_context("/api/v1/me/journal", method="POST", json=body):
        plain = hashlib.sha256()
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        for part in ("POST", request.full_path, canonical):
            plain.update(part.encode() + b"\x00")
    assert stored.request_hash != plain.hexdigest()
    # ...but one that takes the secret key to compute
    assert fingerprint_of(app, "/api/v1/me/journal", body) == stored.request_hash
    monkeypatch.setitem(app.config, "SECRET_KEY", "another secret key, not the server's")
    assert fingerprint_of(app, "/api/v1/me/journal", body) != stored.request_hash


def test_every_post_carrying_a_password_or_returning_a_secret_takes_no_part(app):
    """A new view with a password in its body, or tokens or a code in its answer, must opt out."""
    spec = smorest_api.spec.to_dict()
    schemas = spec["components"]["schemas"]

    def properties(holder: dict) -> set[str]:
        ref = holder.get("content", {}).get("application/json", {}).get("schema", {})
        schema = schemas.get(ref.get("$ref", "").rsplit("/", 1)[-1], ref)
        return set(schema.get("properties", {}))

    urls = app.url_map.bind("localhost")
    checked = 0
    for path, item in spec["paths"].items():
        operation = item.get("post")
        if operation is None:
            continue
        sent = properties(operation.get("requestBody", {}))
        answered = set().union(
            *(properties(r) for code, r in operation["responses"].items() if str(code)[0] == "2")
        )
        holds_secret = any("password" in name for name in sent) or bool(
            answered & {"access_token", "refresh_token", "device_token", "code"}
        )
        endpoint, _ = urls.match(path.replace("{", "").replace("}", ""), method="POST")
        if holds_secret:
            checked += 1
            assert is_exempt(app.view_functions[endpoint], "POST"), path
    # register, login, refresh, password change, pairing code, counselor link code
    assert checked >= 6
