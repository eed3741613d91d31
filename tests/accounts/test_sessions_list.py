"""A person sees their live sign-ins and ends any of them, or all but this one, at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from backend import clock
from backend.accounts.models import AccountActivity, AuthSession
from backend.extensions import db
from backend.notifications.models import Device
from tests.helpers import PASSWORD, ApiClient, assert_problem, ok_text

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)


def sign_in(
    app, email: str, *, user_agent: str | None = None, label: str | None = None
) -> ApiClient:
    """A new password login from another client, which may say what it is."""
    client = app.test_client()
    body: dict[str, Any] = {"email": email, "password": PASSWORD}
    if label is not None:
        body["client_label"] = label
    headers = {"User-Agent": user_agent} if user_agent else {}
    response = client.post("/api/v1/auth/login", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return ApiClient(client, response.get_json())


def refresh(api: ApiClient, person: ApiClient):
    return api.post("/auth/refresh", json={"refresh_token": person.tokens["refresh_token"]})


def sessions(person: ApiClient, **query: Any) -> list[dict[str, Any]]:
    response = person.get("/me/sessions", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def session_id(person: ApiClient) -> str:
    [current] = [s for s in sessions(person) if s["is_current"]]
    return current["id"]


def count(model: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_my_sign_ins_are_listed_with_a_readable_device_newest_first(app, alice):
    start = clock.now()
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        phone = sign_in(app, "alice@example.com", user_agent=IPHONE_SAFARI)
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        app_login = sign_in(
            app, "alice@example.com", user_agent=ANDROID_CHROME, label="Trustline app on Android"
        )
        listed = sessions(phone)
        assert sessions(app_login)[0]["is_current"] is True
    assert [s["description"] for s in listed] == [
        "Trustline app on Android",  # the client's own label wins over its User-Agent
        "Safari on iPhone",
        "Unknown device",  # the test client's User-Agent names no browser or platform
    ]
    assert [s["is_current"] for s in listed] == [False, True, False]
    assert listed[1]["created_at"] == (start + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert set(listed[0]) == {
        "id",
        "description",
        "created_at",
        "last_used_at",
        "is_current",
        "is_fresh",
    }


def test_neither_the_user_agent_nor_an_address_is_stored_or_shown(app, alice):
    phone = sign_in(app, "alice@example.com", user_agent=ANDROID_CHROME)
    text = phone.get("/me/sessions").get_data(as_text=True)
    assert "Mozilla" not in text and "127.0.0.1" not in text
    assert "Chrome on Android (Pixel 8)" in text
    stored = db.session.execute(sa.select(AuthSession.__table__)).all()
    activity = db.session.execute(sa.select(AccountActivity.__table__)).all()
    for row in [*stored, *activity]:
        assert "Mozilla" not in repr(row) and "127.0.0.1" not in repr(row)


def test_a_sign_in_is_fresh_for_five_minutes_after_its_password_login(app, alice):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        phone = sign_in(app, "alice@example.com")
        assert sessions(phone)[0]["is_fresh"] is True
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        assert all(s["is_fresh"] is False for s in sessions(phone))


def test_last_use_is_written_at_most_once_a_minute_and_never_by_the_check(app, alice):
    start = clock.now()
    with time_machine.travel(start, tick=False):
        phone = sign_in(app, "alice@example.com")
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        with time_machine.travel(start + timedelta(seconds=30), tick=False):
            assert phone.get("/me").status_code == 200
        quiet = [s for s in statements if "auth_sessions" in s]
        statements.clear()
        with time_machine.travel(start + timedelta(minutes=2), tick=False):
            assert phone.get("/me").status_code == 200
        touched = [s for s in statements if "auth_sessions" in s]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    # Within the minute the check reads the session, once, and writes nothing.
    assert len(quiet) == 1 and quiet[0].lstrip().upper().startswith("SELECT")
    assert [s for s in touched if s.lstrip().upper().startswith("UPDATE")] != []
    with time_machine.travel(start + timedelta(minutes=2, seconds=1), tick=False):
        [mine] = [s for s in sessions(phone) if s["is_current"]]
    assert mine["last_used_at"] == (start + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_refresh_counts_as_use(app, api, alice):
    start = clock.now()
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert refresh(api, alice).status_code == 200
        [mine] = sessions(sign_in(app, "alice@example.com"))[1:]
    assert mine["last_used_at"] == (start + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("label", "problem"),
    [("x" * 61, "too long"), ("", "empty"), ("   ", "blank"), (7, "not text")],
)
def test_a_bad_client_label_is_named_and_no_session_is_written(api, alice, label, problem):
    before = count(AuthSession)
    response = api.post(
        "/auth/login",
        json={"email": "alice@example.com", "password": PASSWORD, "client_label": label},
    )
    assert_problem(response, 422, "client_label")
    assert count(AuthSession) == before


def test_ending_a_sign_in_stops_its_tokens_and_its_pushes_without_a_fresh_login(app, api, alice):
    phone = sign_in(app, "alice@example.com", label="Old phone")
    phone.post("/me/devices", json={"platform": "android", "token": "old-phone-push-token"})
    start = clock.now()
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        # Alice's own login is long past fresh: protecting herself never asks for a password.
        old = next(s["id"] for s in sessions(alice) if s["description"] == "Old phone")
        assert alice.delete(f"/me/sessions/{old}").status_code == 204
        assert_problem(phone.get("/me"), 401)
        assert_problem(refresh(api, phone), 401)
        assert db.session.scalars(sa.select(Device.token)).all() == []
        assert old not in [s["id"] for s in sessions(alice)]
        # Ending it again changes nothing, and says so the same way.
        assert alice.delete(f"/me/sessions/{old}").status_code == 204
        assert alice.get("/me").status_code == 200


def test_ending_this_very_sign_in_is_a_sign_out(app, alice):
    phone = sign_in(app, "alice@example.com")
    assert phone.delete(f"/me/sessions/{session_id(phone)}").status_code == 204
    assert_problem(phone.get("/me"), 401)
    assert alice.get("/me").status_code == 200


def test_end_others_keeps_only_the_caller(app, api, alice):
    phone = sign_in(app, "alice@example.com", user_agent=IPHONE_SAFARI)
    browser = sign_in(app, "alice@example.com", user_agent=ANDROID_CHROME)
    browser.post("/me/devices", json={"platform": "web", "token": "browser-push-token-1"})
    phone.post("/me/devices", json={"platform": "ios", "token": "phone-push-token-1"})
    response = phone.post("/me/sessions/end-others")
    assert response.status_code == 200 and response.get_json() == {"ended": 2}
    for other in (alice, browser):
        assert_problem(other.get("/me"), 401)
        assert_problem(refresh(api, other), 401)
    assert [s["description"] for s in sessions(phone)] == ["Safari on iPhone"]
    assert db.session.scalars(sa.select(Device.token)).all() == ["phone-push-token-1"]
    assert phone.post("/me/sessions/end-others").get_json() == {"ended": 0}


def test_another_persons_sign_in_is_not_found_and_stays(app, alice, bob, couple, counselor):
    alices = session_id(alice)
    for other in (bob, counselor):
        body = assert_problem(other.delete(f"/me/sessions/{alices}"), 404)
        assert alices not in body["detail"]
        assert alices not in ok_text(other.get("/me/sessions"))
        assert other.post("/me/sessions/end-others").get_json() == {"ended": 0}
    assert alice.get("/me").status_code == 200
    assert_problem(alice.delete("/me/sessions/no-such-session"), 404)
    assert_problem(alice.delete(f"/me/sessions/{'x' * 300}"), 404)


def test_sessions_are_paged_with_cursors(app, alice):
    for _ in range(3):
        sign_in(app, "alice@example.com")
    first = alice.get("/me/sessions", query_string={"limit": 2}).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = alice.get(
        "/me/sessions", query_string={"limit": 2, "cursor": first["next_cursor"]}
    ).get_json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [s["id"] for s in first["items"] + rest["items"]]
    assert len(set(ids)) == 4
    assert_problem(alice.get("/me/sessions", query_string={"limit": 0}), 422, "limit")
    assert_problem(alice.get("/me/sessions", query_string={"cursor": "nope"}), 422, "cursor")


def test_ended_and_expired_sign_ins_are_not_listed(app, alice):
    phone = sign_in(app, "alice@example.com")
    phone.post("/auth/logout")
    assert len(sessions(alice)) == 1
    with time_machine.travel(clock.now() + timedelta(days=31), tick=False):
        assert [s["is_current"] for s in sessions(sign_in(app, "alice@example.com"))] == [True]
