"""Clients see their limits: RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-
headers-11) on every answer of an operation whose failures are counted, counting down with
failures, back up when the window has passed, and alike for an e-mail with no account."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import time_machine

from backend import clock
from tests.conftest import build_app
from tests.counseling.helpers import link_code
from tests.helpers import PASSWORD, assert_problem

LOGIN_POLICY = (
    '"login-address-1m";q=30;w=60, "login-address-1h";q=300;w=3600, '
    '"login-account-1m";q=5;w=60, "login-account-10m";q=10;w=600, '
    '"login-account-1h";q=20;w=3600'
)
# One service limit item of the RateLimit field: "name";r=remaining;t=seconds.
ITEM = re.compile(r'^"(?P<name>[a-z0-9-]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def limit(response) -> tuple[str, int, int]:
    """The RateLimit field as (policy name, failures left, seconds)."""
    match = ITEM.match(response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    return match["name"], int(match["r"]), int(match["t"])


def login(api, password, email="alice@example.com", addr="10.0.0.1", **extra):
    return api.client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password, **extra},
        environ_base={"REMOTE_ADDR": addr},
    )


def test_a_login_tells_its_windows_and_the_failures_left_counting_down(api, alice):
    with time_machine.travel(clock.now(), tick=False):
        first = login(api, PASSWORD)
        assert first.status_code == 200
        assert first.headers["RateLimit-Policy"] == LOGIN_POLICY
        assert limit(first) == ("login-account-1m", 5, 60)
        left = []
        for _ in range(5):
            response = login(api, "wrong password!")
            assert response.status_code == 401
            assert response.headers["RateLimit-Policy"] == LOGIN_POLICY
            left.append(limit(response))
        assert left == [("login-account-1m", r, 60) for r in (4, 3, 2, 1, 0)]
        refused = login(api, PASSWORD)
        assert_problem(refused, 429)
        assert limit(refused) == ("login-account-1m", 0, 60)
        # Retry-After is never earlier than the end of the effective window
        assert int(refused.headers["Retry-After"]) >= limit(refused)[2]


def test_the_failures_left_come_back_as_the_windows_pass(api, alice):
    start = clock.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(3):
            login(api, "wrong password!")
        traveller.shift(timedelta(seconds=20))
        # the oldest failure leaves the minute's window in 40 seconds
        assert limit(login(api, PASSWORD)) == ("login-account-1m", 2, 40)
        traveller.shift(timedelta(seconds=41))
        # the minute's window is empty again; the longer ones still hold the three failures
        assert limit(login(api, PASSWORD)) == ("login-account-1m", 5, 60)
        traveller.shift(timedelta(hours=1))
        fresh = login(api, PASSWORD)
        assert limit(fresh) == ("login-account-1m", 5, 60)


def test_an_email_without_an_account_gets_the_same_fields_as_one_with(api, alice):
    with time_machine.travel(clock.now(), tick=False):
        for attempt in range(6):
            known = login(api, "wrong password!", addr="10.0.0.1")
            unknown = login(api, "wrong password!", email="nobody@example.com", addr="10.0.0.2")
            assert known.status_code == unknown.status_code == (401 if attempt < 5 else 429)
            for field in ("RateLimit-Policy", "RateLimit", "Retry-After"):
                assert known.headers.get(field) == unknown.headers.get(field), (attempt, field)


def test_a_known_device_reports_its_own_windows(api, alice):
    response = login(api, PASSWORD, device_token=alice.tokens["device_token"])
    assert response.status_code == 200
    assert response.headers["RateLimit-Policy"] == (
        '"login-device-1m";q=5;w=60, "login-device-10m";q=10;w=600, "login-device-1h";q=20;w=3600'
    )
    assert limit(response)[:2] == ("login-device-1m", 5)


def register(api, email, addr="10.7.7.7"):
    body = {"email": email, "password": PASSWORD, "display_name": "X"}
    return api.client.post("/api/v1/auth/register", json=body, environ_base={"REMOTE_ADDR": addr})


def test_registering_reports_the_addresss_taken_emails_on_every_answer(api, alice):
    with time_machine.travel(clock.now(), tick=False):
        created = register(api, "dana@example.com")
        assert created.status_code == 201
        assert created.headers["RateLimit-Policy"] == '"register-address-1h";q=20;w=3600'
        assert limit(created) == ("register-address-1h", 20, 3600)
        taken = register(api, "alice@example.com")
        assert_problem(taken, 409, "email")
        assert limit(taken) == ("register-address-1h", 19, 3600)
        # a new e-mail is not counted, and says so
        assert limit(register(api, "erin@example.com")) == ("register-address-1h", 19, 3600)


def test_confirming_a_password_counts_down_for_that_login(alice):
    wrong = {"current_password": "nope nope!", "new_password": "x" * 12}
    response = alice.post("/me/password", json=wrong)
    assert_problem(response, 422, "current_password")
    assert limit(response)[:2] == ("confirm-session-1m", 4)
    right = {"current_password": PASSWORD, "new_password": "y" * 12}
    changed = alice.post("/me/password", json=right)
    assert changed.status_code == 204
    assert '"confirm-session-1m";q=5;w=60' in changed.headers["RateLimit-Policy"]
    assert limit(changed)[:2] == ("confirm-session-1m", 4)


def test_erasing_the_account_reports_the_password_windows(alice):
    wrong = alice.delete("/me", json={"password": "nope nope!"})
    assert_problem(wrong, 422, "password")
    assert limit(wrong)[:2] == ("confirm-session-1m", 4)
    erased = alice.delete("/me", json={"password": "y" * 12})
    assert erased.status_code == 422  # still wrong: the fields count on
    assert limit(erased)[:2] == ("confirm-session-1m", 3)
    done = alice.delete("/me", json={"password": PASSWORD})
    assert done.status_code == 204
    assert limit(done)[:2] == ("confirm-session-1m", 3)


def test_pairing_codes_count_down_and_a_pairing_reports_its_window(alice, bob):
    wrong = bob.post("/pairing-invites/accept", json={"code": "ZZZZ-ZZZZ"})
    assert_problem(wrong, 404)
    assert wrong.headers["RateLimit-Policy"] == '"pairing-code-1h";q=10;w=3600'
    assert limit(wrong)[:2] == ("pairing-code-1h", 9)
    code = alice.post("/pairing-invites").get_json()["code"]
    paired = bob.post("/pairing-invites/accept", json={"code": code})
    assert paired.status_code == 201
    assert limit(paired)[:2] == ("pairing-code-1h", 9)


def test_counselor_codes_count_down_and_a_link_reports_its_window(alice, couple, counselor):
    wrong = alice.post("/couple/counselor-links", json={"code": "ZZZZ-ZZZZ-ZZZZ"})
    assert_problem(wrong, 404)
    assert wrong.headers["RateLimit-Policy"] == '"counselor-code-1h";q=10;w=3600'
    assert limit(wrong)[:2] == ("counselor-code-1h", 9)
    proposed = alice.post("/couple/counselor-links", json={"code": link_code(counselor)})
    assert proposed.status_code == 201
    assert limit(proposed)[:2] == ("counselor-code-1h", 9)


def test_a_calendar_feed_reports_the_addresss_unknown_feeds(app, alice, couple):
    feed = alice.post("/me/calendar-feeds", json={}).get_json()
    path = urlsplit(feed["url"]).path
    served = app.test_client().get(path)
    assert served.status_code == 200
    assert served.headers["RateLimit-Policy"].startswith('"calendar-feed-1m";q=60;w=60')
    assert limit(served)[:2] == ("calendar-feed-1m", 60)
    unknown = app.test_client().get(path.replace(path[-12:-4], "AAAAAAAA"))
    assert unknown.status_code == 404
    assert limit(unknown)[:2] == ("calendar-feed-1m", 59)


def test_operations_that_count_nothing_carry_no_fields(alice):
    response = alice.get("/me")
    assert response.status_code == 200
    assert "RateLimit" not in response.headers
    assert "RateLimit-Policy" not in response.headers


def test_an_unreachable_counter_store_answers_503_with_retry_after_and_no_fields(migrated_app):
    app = build_app(
        migrated_app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
    )
    response = app.test_client().post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "whatever!!"}
    )
    assert_problem(response, 503)
    assert int(response.headers["Retry-After"]) >= 1
    assert "RateLimit" not in response.headers


def test_the_fields_are_documented_on_the_limited_operations(app):
    spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    limited = {
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/me/password", "post"),
        ("/api/v1/me", "delete"),
        ("/api/v1/pairing-invites/accept", "post"),
        ("/api/v1/couple/counselor-links", "post"),
        ("/api/v1/calendar/{token}.ics", "get"),
    }
    for path, method in limited:
        responses = spec["paths"][path][method]["responses"]
        success = next(r for status, r in responses.items() if str(status).startswith("2"))
        assert {"RateLimit", "RateLimit-Policy"} <= set(success["headers"]), (path, method)
        assert {"RateLimit", "Retry-After"} <= set(responses["429"]["headers"]), (path, method)
    assert "RateLimit" not in str(spec["paths"]["/api/v1/me"]["get"])
