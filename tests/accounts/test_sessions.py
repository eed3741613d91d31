"""Access tokens expire, refresh tokens rotate, and revocation holds at once."""

from __future__ import annotations

from datetime import timedelta

import time_machine

from backend import clock
from tests.helpers import PASSWORD, ApiClient, assert_problem


def refresh(api, token):
    return api.post("/auth/refresh", json={"refresh_token": token})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_me_needs_a_token(api):
    response = api.get("/me")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_garbage_token_is_401(api):
    assert_problem(api.get("/me", headers=bearer("not.a.token")), 401)


def test_access_token_lives_fifteen_minutes(api, alice):
    start = clock.now()
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert alice.get("/me").status_code == 200
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        body = assert_problem(alice.get("/me"), 401)
        assert "expired" in body["detail"]


def test_refresh_rotates_and_the_new_tokens_work(api, alice):
    response = refresh(api, alice.tokens["refresh_token"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["refresh_token"] != alice.tokens["refresh_token"]
    assert api.get("/me", headers=bearer(body["access_token"])).status_code == 200
    assert refresh(api, body["refresh_token"]).status_code == 200


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(api, alice):
    first = alice.tokens["refresh_token"]
    rotated = refresh(api, first).get_json()
    reuse = refresh(api, first)
    body = assert_problem(reuse, 401)
    assert "already used" in body["detail"]
    # Every token of that login is dead now: the original access token, the rotated pair.
    assert_problem(alice.get("/me"), 401)
    assert_problem(api.get("/me", headers=bearer(rotated["access_token"])), 401)
    assert_problem(refresh(api, rotated["refresh_token"]), 401)


def test_reuse_in_one_login_leaves_other_logins_alone(api, alice):
    other = api.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    other_tokens = other.get_json()
    first = alice.tokens["refresh_token"]
    refresh(api, first)
    refresh(api, first)
    assert api.get("/me", headers=bearer(other_tokens["access_token"])).status_code == 200


def test_an_access_token_is_not_a_refresh_token(api, alice):
    assert_problem(refresh(api, alice.tokens["access_token"]), 401)


def test_a_refresh_token_is_not_an_access_token(api, alice):
    assert_problem(api.get("/me", headers=bearer(alice.tokens["refresh_token"])), 401)


def test_refresh_token_lives_thirty_days(api, alice):
    start = clock.now()
    with time_machine.travel(start + timedelta(days=31), tick=False):
        assert_problem(refresh(api, alice.tokens["refresh_token"]), 401)


def test_logout_revokes_access_and_refresh_at_once(api, alice):
    assert alice.post("/auth/logout").status_code == 204
    assert_problem(alice.get("/me"), 401)
    assert_problem(refresh(api, alice.tokens["refresh_token"]), 401)


def test_logout_is_checked_in_the_database_so_it_holds_across_processes(app, migrated_app, alice):
    from tests.conftest import build_app

    other_process = build_app(migrated_app.config["SQLALCHEMY_DATABASE_URI"])
    other = ApiClient(other_process.test_client(), alice.tokens)
    assert other.get("/me").status_code == 200
    alice.post("/auth/logout")
    assert_problem(other.get("/me"), 401)


def test_password_change_revokes_every_other_session(api, alice):
    phone = api.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    phone_tokens = phone.get_json()
    response = alice.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": "a brand new secret"}
    )
    assert response.status_code == 204
    assert alice.get("/me").status_code == 200  # this session goes on
    assert_problem(api.get("/me", headers=bearer(phone_tokens["access_token"])), 401)
    assert_problem(refresh(api, phone_tokens["refresh_token"]), 401)
    old = api.post("/auth/login", json={"email": "alice@example.com", "password": PASSWORD})
    assert_problem(old, 401)
    new = api.post(
        "/auth/login", json={"email": "alice@example.com", "password": "a brand new secret"}
    )
    assert new.status_code == 200


def test_password_change_needs_the_current_password(api, alice):
    response = alice.post(
        "/me/password", json={"current_password": "wrong one!", "new_password": "a brand new one"}
    )
    assert_problem(response, 422, "current_password")
    assert (
        api.post(
            "/auth/login", json={"email": "alice@example.com", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_new_password_follows_the_same_rules(alice):
    response = alice.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert_problem(response, 422, "new_password")
    same = alice.post("/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD})
    assert_problem(same, 422, "new_password")


def test_purge_deletes_expired_sessions_only(app, alice, bob):
    from backend.accounts import service

    alice.post("/auth/logout")
    assert service.purge_expired_sessions() == 0
    assert service.purge_expired_sessions(now=clock.now() + timedelta(days=31)) == 2
