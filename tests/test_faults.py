"""A database error in the middle of a multi-row write: a clean problem, nothing half-done.

A transient conflict (serialization failure, deadlock, busy SQLite) runs the request again, a
bounded number of times, and never writes anything twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.agreements.models import Agreement, AgreementConsent
from backend.checkins.models import Checkin, CheckinResponse
from backend.conversations.models import Conversation, ConversationReady
from backend.couples.models import Couple, CoupleMember, PairingInvite
from backend.database import TRANSIENT_ATTEMPTS, is_transient, run_with_retries
from backend.extensions import db
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from backend.timeline import service as timeline
from backend.timeline.models import TimelineEvent
from tests.conversations.helpers import start
from tests.helpers import PASSWORD, answers_for, assert_problem
from tests.scheduling.test_tick import daily_at


def count(model, *where) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def break_timeline(monkeypatch) -> None:
    """Make every timeline write (which comes after the other rows of a change) fail: one
    event (`record`) and rows (`event_row`, which `announce` and the bulk paths build)."""

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT INTO timeline_events", {}, Exception("disk gone"))

    monkeypatch.setattr(timeline, "record", fail)
    monkeypatch.setattr(timeline, "event_row", fail)


@pytest.fixture
def failing_timeline(monkeypatch):
    break_timeline(monkeypatch)


def assert_clean_503(response) -> None:
    body = assert_problem(response, 503)
    assert "Nothing was saved" in body["detail"]
    assert int(response.headers["Retry-After"]) >= 1
    assert "disk gone" not in response.get_data(as_text=True)


def test_pairing(alice, bob, failing_timeline):
    code = alice.post("/pairing-invites").get_json()["code"]
    assert_clean_503(bob.post("/pairing-invites/accept", json={"code": code}))
    assert count(Couple) == count(CoupleMember) == 0
    assert count(PairingInvite, PairingInvite.used_at.is_not(None)) == 0
    assert count(Notification) == 0


def test_reveal(app, alice, bob, couple, monkeypatch):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    alice.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin), "submit": True},
    )
    events_before = count(TimelineEvent)

    break_timeline(monkeypatch)
    response = bob.put(
        f"/checkins/{checkin['id']}/answers",
        json={"answers": answers_for(checkin), "submit": True},
    )
    assert_clean_503(response)
    assert count(Checkin, Checkin.status == "revealed") == 0
    assert count(CheckinResponse, CheckinResponse.submitted_at.is_not(None)) == 1
    assert count(TimelineEvent) == events_before


def test_agreement_consent(alice, bob, couple, monkeypatch):
    agreement = alice.post(
        "/couple/agreements",
        json={"title": "T", "items": [{"category": "plans", "text": "We share plans."}]},
    ).get_json()

    break_timeline(monkeypatch)
    assert_clean_503(bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}))
    assert count(Agreement, Agreement.status == "active") == 0
    assert count(AgreementConsent) == 1  # the proposer's own consent only


def test_conversation_advance(alice, bob, couple, monkeypatch):
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    alice.post(f"/conversations/{conversation['id']}/entries", json={"text": "It hurt."})
    alice.post(f"/conversations/{conversation['id']}/ready")

    break_timeline(monkeypatch)
    assert_clean_503(bob.post(f"/conversations/{conversation['id']}/ready"))
    assert count(Conversation, Conversation.current_step == 0) == 1
    assert count(ConversationReady) == 1


def test_erasure(alice, bob, couple, monkeypatch):
    alice.post("/me/journal", json={"text": "mine"})

    break_timeline(monkeypatch)
    assert_clean_503(alice.delete("/me", json={"password": PASSWORD}))
    assert alice.get("/me").get_json()["email"] == "alice@example.com"
    assert alice.get("/couple").get_json()["status"] == "active"
    assert alice.get("/me/journal").get_json()["items"]


def test_the_schedulers_batch(alice, bob, couple, monkeypatch):
    with time_machine.travel(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), tick=False):
        daily_at(alice.login())

    def fail(**kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk gone"))

    moment = datetime(2026, 11, 23, 19, 1, tzinfo=UTC)
    with time_machine.travel(moment, tick=False):
        monkeypatch.setattr(timeline, "event_row", fail)
        with pytest.raises(sa.exc.OperationalError):
            tick()
        db.session.rollback()
        assert count(Checkin) == 0
        monkeypatch.undo()
        assert tick().opened == 1
    with time_machine.travel(moment + timedelta(minutes=1), tick=False):
        assert tick().opened == 0
    assert count(Checkin) == 1


class SerializationFailure(Exception):
    """Stands in for psycopg's error of the same name (SQLSTATE 40001)."""

    sqlstate = "40001"


def transient(statement: str = "UPDATE pairing_invites") -> sa.exc.OperationalError:
    return sa.exc.OperationalError(statement, {}, SerializationFailure("could not serialize"))


def fail_first(monkeypatch, module, name: str, times: int) -> list[int]:
    """Make `module.name` raise a transient conflict on its first `times` calls."""
    real = getattr(module, name)
    calls: list[int] = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise transient()
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, flaky)
    return calls


def test_a_transient_conflict_is_run_again_and_written_once(alice, bob, monkeypatch):
    code = alice.post("/pairing-invites").get_json()["code"]
    # The timeline write comes after the couple's rows were flushed: a retry must start over.
    calls = fail_first(monkeypatch, timeline, "announce", times=1)
    response = bob.post("/pairing-invites/accept", json={"code": code})
    assert response.status_code == 201, response.get_json()
    assert len(calls) == 2
    assert count(Couple) == 1 and count(CoupleMember) == 2
    assert count(TimelineEvent, TimelineEvent.kind == "paired") == 1
    assert count(Notification, Notification.user_id == alice.user["id"]) == 1


def test_a_conflict_that_persists_ends_in_503_after_bounded_attempts(alice, bob, monkeypatch):
    code = alice.post("/pairing-invites").get_json()["code"]
    calls = fail_first(monkeypatch, timeline, "announce", times=99)
    response = bob.post("/pairing-invites/accept", json={"code": code})
    body = assert_problem(response, 503)
    assert response.headers["Retry-After"]
    assert "Nothing was saved" in body["detail"]
    assert len(calls) == TRANSIENT_ATTEMPTS
    assert count(Couple) == count(CoupleMember) == count(Notification) == 0
    assert count(PairingInvite, PairingInvite.used_at.is_not(None)) == 0


def test_work_that_already_committed_is_not_run_again(app):
    runs: list[int] = []

    def commits_then_conflicts():
        runs.append(1)
        db.session.execute(sa.text("SELECT 1"))
        db.session.commit()
        raise transient()

    with pytest.raises(sa.exc.OperationalError):
        run_with_retries(commits_then_conflicts, session=db.session)
    assert runs == [1]


def test_only_conflicts_the_database_resolved_are_transient():
    import sqlite3

    def wrapped(original: Exception, **kwargs) -> sa.exc.DBAPIError:
        return sa.exc.OperationalError("UPDATE t", {}, original, **kwargs)

    class Deadlock(Exception):
        sqlstate = "40P01"

    class UniqueViolation(Exception):
        sqlstate = "23505"

    assert is_transient(transient())
    assert is_transient(wrapped(Deadlock("deadlock detected")))
    assert is_transient(wrapped(sqlite3.OperationalError("database is locked")))
    assert not is_transient(wrapped(UniqueViolation("duplicate key")))
    assert not is_transient(wrapped(Exception("disk gone")))
    # A dropped connection may have committed before it dropped: never run that twice.
    assert not is_transient(wrapped(Deadlock("gone"), connection_invalidated=True))
    assert not is_transient(ValueError("not a database error"))


def test_crossed_pairing_accepts_on_postgresql_end_in_one_couple(app, alice, bob, monkeypatch):
    """Alice accepts Bob's code while Bob accepts Alice's: PostgreSQL sees a deadlock."""
    if app.config["TEST_BACKEND"] != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two can't cross")
    import threading

    from backend import codes  # pairing claims its code through the single-use codes module

    alices_code = alice.post("/pairing-invites").get_json()["code"]
    bobs_code = bob.post("/pairing-invites").get_json()["code"]
    # Hold each request after it claimed the other's code, so that both hold a row the other
    # needs next: the crossing happens every time, not once in a while.
    claimed = threading.Barrier(2)
    real_claim = codes.claim
    waited = threading.local()

    def claim_and_wait(*args, **kwargs):
        won = real_claim(*args, **kwargs)
        if not getattr(waited, "done", False):
            waited.done = True
            claimed.wait(timeout=10)
        return won

    monkeypatch.setattr(codes, "claim", claim_and_wait)
    statuses: dict[str, int] = {}

    def accept(who, code):
        with app.app_context():
            statuses[who.user["display_name"]] = who.post(
                "/pairing-invites/accept", json={"code": code}
            ).status_code

    threads = [
        threading.Thread(target=accept, args=(alice, bobs_code)),
        threading.Thread(target=accept, args=(bob, alices_code)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(statuses.values())[0] == 201, statuses
    assert sorted(statuses.values())[1] in (404, 409), statuses
    assert count(Couple) == 1 and count(CoupleMember) == 2
    assert count(TimelineEvent, TimelineEvent.kind == "paired") == 1


def test_a_connection_the_server_closed_costs_no_request(app, alice, backend_name):
    """A restart (or an idle timeout) closes the pooled connections; the next request finds
    its connection closed at its first statement and runs again on a new one."""
    if backend_name != "postgresql":
        pytest.skip("a SQLite file has no server connection to lose")
    assert alice.get("/me").status_code == 200
    db.session.close()  # the test's context shares the requests' session: back to the pool
    with db.engine.connect() as conn:
        ended = conn.scalar(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    assert ended >= 1
    for person in (alice, alice):
        answer = person.get("/me")
        assert answer.status_code == 200, answer.get_json()
    assert alice.patch("/me", json={"display_name": "Alice B"}).status_code == 200
    assert alice.get("/me").get_json()["display_name"] == "Alice B"


def test_a_closed_connection_after_work_began_is_not_run_again(app):
    """Only a connection that ran nothing since leaving the pool is stale: a failure later in
    the work may have reached the database, and is not retried."""
    calls = []

    def work():
        calls.append(1)
        error = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed"))
        error.connection_invalidated = True
        raise error

    with pytest.raises(sa.exc.OperationalError):
        run_with_retries(work, session=db.session)
    assert len(calls) == 1
