"""Nothing a person sends reaches a log line or comes back in an error.

Each test plants a marker in a request that fails in one way (an unknown key, a time zone of
5,000 characters, a wrong type, invalid JSON, a statement the database refuses, an error inside
a service) and then looks for the marker in every log record — the root logger, Trustline's own
and SQLAlchemy's, all at DEBUG — and in the error body.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from backend.extensions import db

MARKER = "zq7private"
LONG_TIME_ZONE = "Europe/" + MARKER * 500  # 5,007 characters


def _record_text(record: logging.LogRecord) -> str:
    parts = [str(record.msg), repr(record.args), record.getMessage(), record.exc_text or ""]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    parts.append(repr(vars(record)))
    return "\n".join(parts)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record of the test, at DEBUG, SQLAlchemy's included."""
    caplog.set_level(logging.DEBUG)
    for name in ("backend", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "werkzeug"):
        caplog.set_level(logging.DEBUG, logger=name)
    # Trustline's logger writes to its own handler and does not propagate to the root.
    backend = logging.getLogger("backend")
    backend.addHandler(caplog.handler)
    yield caplog
    backend.removeHandler(caplog.handler)


def assert_no_marker(logs: pytest.LogCaptureFixture, *responses: Any) -> None:
    """The marker is in no response body and no log record."""
    for response in responses:
        assert response.status_code >= 400, response.get_data(as_text=True)
        assert MARKER not in response.get_data(as_text=True).lower()
    leaks = [
        f"{record.name} {record.levelname}: {record.getMessage()[:300]}"
        for record in logs.records
        if MARKER in _record_text(record).lower()
    ]
    assert not leaks, leaks


@contextmanager
def refusing(table: str, event: str, *, sqlstate: str = "P0001") -> Iterator[None]:
    """The database itself refuses every `event` (INSERT or UPDATE) on `table`.

    On PostgreSQL the error quotes the refused row in its DETAIL, as PostgreSQL's own errors
    do ("Key (email)=(…) already exists", "Failing row contains (…)"); `sqlstate` picks the
    error (23505: a unique violation). SQLite's trigger can only say a fixed text.
    """
    name = f"test_refuse_{table}_{event.lower()}"
    db.session.remove()
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as conn:
        if postgres:
            conn.execute(
                sa.text(
                    "CREATE OR REPLACE FUNCTION test_refuse_row() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION USING ERRCODE = TG_ARGV[0], "
                    "MESSAGE = 'refused by a test', "
                    "DETAIL = 'Failing row contains ' || row_to_json(NEW)::text; END $$"
                )
            )
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW "
                    f"EXECUTE FUNCTION test_refuse_row('{sqlstate}')"
                )
            )
        else:
            conn.execute(
                sa.text(
                    f"CREATE TRIGGER {name} BEFORE {event} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'refused by a test'); END"
                )
            )
    try:
        yield
    finally:
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
            )
            if postgres:
                conn.execute(sa.text("DROP FUNCTION IF EXISTS test_refuse_row()"))


# (what fails, method, path, body): sent by Alice, paired with Bob.
REFUSED_REQUESTS = [
    ("unknown prompt set", "POST", "/couple/checkins", {"prompt_set": MARKER}),
    (
        "unknown prompt set of a schedule",
        "POST",
        "/couple/schedules",
        {"prompt_set": MARKER, "frequency": "daily", "local_time": "20:00"},
    ),
    ("unknown trends prompt", "GET", f"/couple/trends?prompt={MARKER}", None),
    ("unknown timeline kind", "GET", f"/couple/timeline?kinds={MARKER}", None),
    ("forged cursor", "GET", f"/couple/timeline?cursor={MARKER}", None),
    ("5,000-character time zone of a person", "PATCH", "/me", {"timezone": LONG_TIME_ZONE}),
    ("unknown time zone of the couple", "PATCH", "/couple", {"timezone": MARKER}),
    (
        "unknown time zone of a schedule",
        "POST",
        "/couple/schedules",
        {
            "prompt_set": "daily_pulse",
            "frequency": "daily",
            "local_time": "20:00",
            "timezone": LONG_TIME_ZONE,
        },
    ),
    (
        "unknown template and role",
        "POST",
        "/couple/conversations",
        {"template": MARKER, "roles": {MARKER: MARKER}},
    ),
    ("a role given a wrong type", "POST", "/couple/conversations", {"roles": {MARKER: 5}}),
    ("unknown safety question", "PUT", "/me/safety-check", {"answers": {MARKER: "yes"}}),
    ("unknown safety answer", "PUT", "/me/safety-check", {"answers": {MARKER: MARKER}}),
    ("too-long display name", "PATCH", "/me", {"display_name": MARKER * 20}),
    ("too-long journal entry", "POST", "/me/journal", {"text": MARKER * 1_500}),
    ("too-long agreement title", "POST", "/couple/agreements", {"title": MARKER * 50}),
    ("wrong type in a journal entry", "POST", "/me/journal", {"text": [MARKER]}),
    ("wrong type of display name", "PATCH", "/me", {"display_name": {"a": MARKER}}),
    (
        "unknown agreement category",
        "POST",
        "/couple/agreements",
        {"title": "t", "items": [{"category": MARKER, "text": MARKER}]},
    ),
    ("unknown platform", "POST", "/me/devices", {"platform": MARKER, "token": MARKER}),
    ("wrong pairing code", "POST", "/pairing-invites/accept", {"code": MARKER}),
    ("wrong counselor code", "POST", "/couple/counselor-links", {"code": MARKER}),
    (
        "wrong password on password change",
        "POST",
        "/me/password",
        {"current_password": MARKER, "new_password": MARKER},
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [case[1:] for case in REFUSED_REQUESTS],
    ids=[case[0] for case in REFUSED_REQUESTS],
)
def test_a_refused_request_echoes_nothing_and_logs_nothing(logs, alice, couple, method, path, body):
    response = alice.request(method, path, json=body) if body is not None else alice.get(path)
    assert response.status_code < 500
    assert_no_marker(logs, response)


def test_answers_to_an_unknown_prompt_echo_nothing(logs, alice, couple):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    response = alice.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": [{"prompt": MARKER, "value": MARKER}]},
    )
    assert_no_marker(logs, response)


def test_invalid_json_is_neither_echoed_nor_logged(logs, api, alice):
    broken = '{"email": "' + MARKER + '@example.com", "password": "' + MARKER
    responses = [
        api.post("/auth/login", data=broken, content_type="application/json"),
        alice.post("/me/journal", data='{"text": "' + MARKER, content_type="application/json"),
    ]
    assert [r.status_code for r in responses] == [400, 400]
    assert_no_marker(logs, *responses)


def test_failed_sign_ins_are_neither_echoed_nor_logged(logs, api, alice):
    responses = [
        api.post("/auth/login", json={"email": alice.user["email"], "password": MARKER}),
        api.post("/auth/login", json={"email": f"{MARKER}@example.com", "password": MARKER}),
        api.post("/auth/refresh", json={"refresh_token": MARKER}),
        api.post(
            "/auth/register",
            json={
                "email": alice.user["email"],
                "password": MARKER * 2,
                "display_name": MARKER,
                "role": "partner",
            },
        ),
        api.post(
            "/auth/register",
            json={"email": MARKER, "password": MARKER, "display_name": "", "role": MARKER},
        ),
    ]
    assert_no_marker(logs, *responses)


def test_a_journal_entry_the_database_refuses_is_not_logged(logs, alice):
    with refusing("journal_entries", "INSERT"):
        response = alice.post("/me/journal", json={"text": f"I felt {MARKER} today"})
    assert response.status_code == 500
    assert_no_marker(logs, response)
    # The failure was logged, and so was the statement — with neither the values nor the
    # database's quote of the row.
    logged = [r for r in logs.records if r.name == "backend.errors"]
    assert logged and "INSERT INTO journal_entries" in logged[-1].exc_text
    statements = [r.getMessage() for r in logs.records if r.name.startswith("sqlalchemy.engine")]
    assert any("INSERT INTO journal_entries" in s for s in statements)
    assert any("hidden due to hide_parameters" in s for s in statements)


def test_a_display_name_the_database_refuses_is_not_logged(logs, alice):
    with refusing("users", "UPDATE"):
        response = alice.patch("/me", json={"display_name": MARKER})
    assert response.status_code == 500
    assert_no_marker(logs, response)


def test_a_unique_violation_quoting_the_email_is_not_logged(logs, api):
    """A registration race: the insert meets the unique key, whose error quotes the e-mail."""
    with refusing("users", "INSERT", sqlstate="23505"):
        response = api.post(
            "/auth/register",
            json={
                "email": f"{MARKER}@example.com",
                "password": "correct horse battery",
                "display_name": MARKER,
                "role": "partner",
            },
        )
    assert_no_marker(logs, response)


def test_an_entry_read_before_an_edit_the_database_refuses_is_not_logged(logs, alice):
    """The edit reads the entry first: SQLAlchemy logs result rows at DEBUG; Trustline drops
    them."""
    entry = alice.post("/me/journal", json={"text": f"written {MARKER}"}).get_json()
    logs.clear()
    with refusing("journal_entries", "UPDATE"):
        response = alice.patch(f"/me/journal/{entry['id']}", json={"text": f"new {MARKER}"})
    assert response.status_code == 500
    assert_no_marker(logs, response)
    assert alice.get(f"/me/journal/{entry['id']}").get_json()["text"] == f"written {MARKER}"


@pytest.mark.parametrize(
    "error", [KeyError(MARKER), RuntimeError(f"could not store {MARKER}")], ids=repr
)
def test_an_error_inside_a_service_is_logged_without_its_message(logs, alice, monkeypatch, error):
    from backend.journal import service

    def fail(**_kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(service, "write", fail)
    response = alice.post("/me/journal", json={"text": MARKER})
    assert response.status_code == 500
    assert_no_marker(logs, response)
    logged = [r for r in logs.records if r.name == "backend.errors"]
    assert logged and type(error).__name__ in logged[-1].exc_text
    assert "fail" in logged[-1].exc_text  # the traceback is kept: where it failed
