"""Failed logins are slowed down, never locked for good, and can't lock the owner out."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
import redis
import time_machine

from backend import clock
from tests.conftest import build_app
from tests.helpers import PASSWORD, ApiClient, assert_problem

REDIS_URL = os.environ.get("TRUSTLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def login(api, password, email="alice@example.com", addr="10.0.0.1", **extra):
    return api.client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password, **extra},
        environ_base={"REMOTE_ADDR": addr},
    )


def fail(api, times, **kwargs):
    for _ in range(times):
        assert login(api, "wrong password!", **kwargs).status_code == 401


def test_sixth_failure_in_a_minute_is_429_with_retry_after(api, alice):
    fail(api, 5)
    response = login(api, "wrong password!")
    body = assert_problem(response, 429)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "wait" in body["detail"]


def test_limited_accounts_refuse_even_the_right_password_until_the_wait_is_over(api, alice):
    fail(api, 5)
    assert_problem(login(api, PASSWORD), 429)
    with time_machine.travel(clock.now() + timedelta(seconds=61), tick=False):
        assert login(api, PASSWORD).status_code == 200


def test_unknown_email_is_limited_exactly_like_a_known_one(api, alice):
    fail(api, 5, email="nobody@example.com")
    unknown = login(api, "wrong password!", email="nobody@example.com")
    fail(api, 5)
    known = login(api, "wrong password!")
    assert unknown.status_code == known.status_code == 429
    strip = lambda r: {k: v for k, v in r.get_json().items() if k != "request_id"}  # noqa: E731
    assert strip(unknown) == strip(known)


def test_successful_logins_are_not_counted(api, alice):
    for _ in range(12):
        assert login(api, PASSWORD).status_code == 200


def test_delays_grow_with_repeated_failures_but_expire(api, alice):
    start = clock.now()
    waits = []
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(4):
            fail(api, 5)
            response = login(api, "wrong password!")
            assert response.status_code == 429
            waits.append(int(response.headers["Retry-After"]))
            traveller.shift(timedelta(seconds=waits[-1] + 1))
            if len(waits) == 2:
                break
        assert waits[1] > waits[0]
        # never a permanent lock: after the longest window the right password works
        traveller.shift(timedelta(hours=1, seconds=1))
        assert login(api, PASSWORD).status_code == 200


def test_a_known_device_is_not_locked_out_by_someone_failing_on_purpose(api, alice):
    device_token = alice.tokens["device_token"]
    fail(api, 5, addr="10.0.0.2")  # someone else, who knows the e-mail
    assert_problem(login(api, PASSWORD, addr="10.0.0.2"), 429)
    # the owner's phone, even from the same address, still gets in
    owner = login(api, PASSWORD, addr="10.0.0.2", device_token=device_token)
    assert owner.status_code == 200


def strangers_fail_from(api, addr, times=30):
    """Someone on the victim's network fails logins with made-up e-mails."""
    for n in range(times):
        response = login(api, "wrong password!", email=f"made-up-{n}@example.com", addr=addr)
        assert response.status_code == 401
    assert_problem(login(api, "wrong password!", email="more@example.com", addr=addr), 429)


def lock_the_network(api, addr):
    """Someone who knows Alice's e-mail fills its windows, then makes up e-mails for the rest."""
    fail(api, 5, addr=addr)
    strangers_fail_from(api, addr, times=25)


def test_strangers_on_the_same_network_cannot_lock_out_a_known_device(api, alice):
    lock_the_network(api, "10.0.0.9")
    # without her device token, her own login is held back with everyone else's
    assert_problem(login(api, PASSWORD, addr="10.0.0.9"), 429)
    response = login(api, PASSWORD, addr="10.0.0.9", device_token=alice.tokens["device_token"])
    assert response.status_code == 200
    assert response.get_json()["device_token"]


def test_a_known_device_gets_the_fresh_login_that_export_needs(api, alice):
    lock_the_network(api, "10.0.0.9")
    response = login(api, PASSWORD, addr="10.0.0.9", device_token=alice.tokens["device_token"])
    alice.tokens = response.get_json()
    export = alice.get("/me/export", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert export.status_code == 200
    assert export.get_json()["account"]["email"] == "alice@example.com"


def test_a_known_device_can_still_erase_the_account(api, alice):
    lock_the_network(api, "10.0.0.9")
    response = login(api, PASSWORD, addr="10.0.0.9", device_token=alice.tokens["device_token"])
    alice.tokens = response.get_json()
    erased = alice.delete(
        "/me", json={"password": PASSWORD}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert erased.status_code == 204
    assert alice.get("/me").status_code == 401


def test_a_known_device_can_still_link_a_counselor(api, alice, bob, couple, counselor):
    from tests.counseling.helpers import link_code

    code = link_code(counselor)
    lock_the_network(api, "10.0.0.9")
    response = login(api, PASSWORD, addr="10.0.0.9", device_token=alice.tokens["device_token"])
    alice.tokens = response.get_json()
    proposed = alice.post(
        "/couple/counselor-links",
        json={"code": code},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert proposed.status_code == 201
    consent = bob.post(f"/counselor-links/{proposed.get_json()['id']}/consent")
    assert consent.status_code == 200


def test_a_signed_in_owner_can_change_the_password_whatever_others_failed(api, alice):
    lock_the_network(api, "10.0.0.9")
    response = alice.post(
        "/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new password"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert response.status_code == 204


def test_guessing_with_a_device_token_is_still_limited(api, alice):
    device_token = alice.tokens["device_token"]
    fail(api, 5, device_token=device_token)
    assert_problem(login(api, "wrong password!", device_token=device_token), 429)
    # the device's own windows hold back its right password too, until they clear
    assert_problem(login(api, PASSWORD, device_token=device_token), 429)
    with time_machine.travel(clock.now() + timedelta(seconds=61), tick=False):
        assert login(api, PASSWORD, device_token=device_token).status_code == 200


def test_a_device_tokens_failures_count_toward_its_address(api, alice):
    device_token = alice.tokens["device_token"]
    fail(api, 5, device_token=device_token, addr="10.0.0.9")
    strangers_fail_from(api, "10.0.0.9", times=25)


def test_a_forged_device_token_gives_no_way_past_the_address_limit(api, alice):
    strangers_fail_from(api, "10.0.0.9")
    forged = alice.tokens["device_token"][:-4] + "AAAA"
    assert_problem(login(api, PASSWORD, addr="10.0.0.9", device_token=forged), 429)


def test_one_logins_wrong_current_passwords_do_not_hold_back_another(api, alice):
    other = ApiClient(api.client, login(api, PASSWORD, addr="10.1.1.1").get_json())
    for _ in range(5):
        wrong = {"current_password": "nope nope!", "new_password": "x" * 12}
        assert_problem(alice.post("/me/password", json=wrong), 422, "current_password")
    right = {"current_password": PASSWORD, "new_password": "y" * 12}
    assert_problem(alice.post("/me/password", json=right), 429)
    # whoever holds that session can't keep the owner's other login from the change
    assert other.post("/me/password", json=right).status_code == 204


def test_wrong_passwords_on_a_held_phone_do_not_hold_back_erasure_from_another(api, alice):
    other = ApiClient(api.client, login(api, PASSWORD, addr="10.1.1.1").get_json())
    for _ in range(5):
        assert_problem(alice.delete("/me", json={"password": "nope nope!"}), 422, "password")
    assert_problem(alice.delete("/me", json={"password": PASSWORD}), 429)
    # the session that failed is slowed down; the owner's other login erases at once
    assert other.delete("/me", json={"password": PASSWORD}).status_code == 204


def test_a_device_token_of_another_account_gives_no_allowance(api, alice, bob):
    fail(api, 5)
    response = login(api, PASSWORD, device_token=bob.tokens["device_token"])
    assert_problem(response, 429)


def test_per_address_limit_is_generous_but_exists(api, alice):
    for n in range(30):
        response = login(api, "wrong password!", email=f"user{n}@example.com", addr="10.9.9.9")
        assert response.status_code == 401
    assert_problem(login(api, "wrong!", email="another@example.com", addr="10.9.9.9"), 429)
    assert login(api, PASSWORD, addr="10.1.1.1").status_code == 200


def test_wrong_current_password_counts_as_a_failure(alice):
    for _ in range(5):
        alice.post(
            "/me/password", json={"current_password": "nope nope!", "new_password": "x" * 12}
        )
    response = alice.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": "y" * 12}
    )
    assert_problem(response, 429)


@pytest.fixture
def redis_url():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    yield REDIS_URL
    client.flushdb()


def test_counters_live_in_redis_and_are_shared_between_processes(migrated_app, redis_url):
    prefix = uuid.uuid4().hex
    url = migrated_app.config["SQLALCHEMY_DATABASE_URI"]
    first = build_app(url, TRUSTLINE_RATELIMIT_STORAGE_URI=redis_url)
    second = build_app(url, TRUSTLINE_RATELIMIT_STORAGE_URI=redis_url)
    email = f"{prefix}@example.com"
    for _ in range(3):
        assert (
            first.test_client()
            .post("/api/v1/auth/login", json={"email": email, "password": "wrong password!"})
            .status_code
            == 401
        )
    for _ in range(2):
        assert (
            second.test_client()
            .post("/api/v1/auth/login", json={"email": email, "password": "wrong password!"})
            .status_code
            == 401
        )
    limited = second.test_client().post(
        "/api/v1/auth/login", json={"email": email, "password": "wrong password!"}
    )
    assert_problem(limited, 429)
    keys = redis.Redis.from_url(redis_url).keys("*trustline*")
    assert keys, "the counters are stored in Redis"


def register(api, email, addr="10.7.7.7"):
    body = {"email": email, "password": PASSWORD, "display_name": "X"}
    return api.client.post("/api/v1/auth/register", json=body, environ_base={"REMOTE_ADDR": addr})


def test_probing_for_taken_emails_is_limited_per_address(api, alice):
    for _ in range(20):
        assert register(api, "alice@example.com").status_code == 409
    assert_problem(register(api, "alice@example.com"), 429)
    assert_problem(register(api, "ALICE@example.com "), 429)


def test_taken_emails_from_an_address_do_not_stop_it_registering_new_ones(api, alice):
    for _ in range(20):
        assert register(api, "alice@example.com").status_code == 409
    assert_problem(register(api, "alice@example.com"), 429)
    # someone else at the same address, with an e-mail of their own
    response = register(api, "dana@example.com")
    assert response.status_code == 201
    assert response.get_json()["user"]["email"] == "dana@example.com"


def test_registering_new_emails_is_not_counted(api, alice):
    for n in range(22):
        assert register(api, f"new{n}@example.com").status_code == 201
    # the address has learned nothing yet, so a taken e-mail is a plain 409
    body = assert_problem(register(api, "alice@example.com"), 409, "email")
    assert "already exists" in body["detail"]


def test_an_unreachable_counter_store_refuses_logins_cleanly(migrated_app):
    app = build_app(
        migrated_app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
    )
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever!!"}
    )
    assert_problem(response, 503)
    assert response.headers["Retry-After"] == "60"  # as the spec documents for a 503
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["ratelimit_store"] == "unreachable"


def test_an_unreachable_counter_store_still_lets_a_new_email_register(migrated_app):
    app = build_app(
        migrated_app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
    )
    client = app.test_client()
    email = f"{uuid.uuid4().hex}@example.com"
    body = {"email": email, "password": PASSWORD, "display_name": "New"}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201
    # a taken e-mail needs the counter, so it is refused cleanly rather than answered
    assert_problem(client.post("/api/v1/auth/register", json=body), 503)
