"""Fixtures: an app per database backend, a clean database per test, and API clients.

Every test that uses `app` (or `client`, `api`) runs on SQLite, and again on PostgreSQL when
TRUSTLINE_TEST_POSTGRES_URL is set. The schema comes from the migrations, applied once per
backend; each test starts with empty tables and fresh rate-limit counters.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask_migrate import upgrade

from backend import create_app
from backend.agreements import service as agreements
from backend.agreements.schemas import AgreementCreateSchema
from backend.checkins.library import load_library
from backend.config import normalize_database_url
from backend.conversations import service as conversations
from backend.counseling import service as counseling
from backend.counseling.schemas import ExerciseCreateSchema
from backend.extensions import db
from backend.journal import service as journal
from backend.measures.library import load_library as load_measures
from backend.notifications import service as notifications
from backend.scheduling import service as scheduling
from backend.scheduling.schemas import ScheduleCreateSchema
from tests import clockshift
from tests.factories import (
    couple_by_id,
    link_counselor,
    propose_counselor,
    revealed_checkin,
    session_id_of,
)
from tests.helpers import ApiClient, make_counselor, make_partner, pair, user_of

POSTGRES_URL = os.environ.get("TRUSTLINE_TEST_POSTGRES_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])

# Cheap hashing keeps the suite fast; production uses argon2id at 64 MiB (see config.py).
TEST_SETTINGS: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
    "TRUSTLINE_ARGON2_TIME_COST": 1,
    "TRUSTLINE_ARGON2_MEMORY_KIB": 1024,
    "TRUSTLINE_ARGON2_PARALLELISM": 1,
    "TRUSTLINE_RATELIMIT_STORAGE_URI": "memory://",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shift-clock-days",
        type=int,
        default=int(os.environ.get("TRUSTLINE_TEST_SHIFT_CLOCK_DAYS") or 0),
        help="run the whole suite with the clock moved this many days ahead (the clock keeps "
        "ticking), so a test that compares a fixed date with the real time fails here and "
        "not on a newcomer's machine; also TRUSTLINE_TEST_SHIFT_CLOCK_DAYS",
    )


def pytest_configure(config: pytest.Config) -> None:
    days = config.getoption("--shift-clock-days")
    if days:
        traveller = time_machine.travel(datetime.now(UTC) + timedelta(days=days), tick=True)
        traveller.start()
        clockshift.shift_days = days


def pytest_report_header(config: pytest.Config) -> str | None:
    days = config.getoption("--shift-clock-days")
    return f"clock moved {days} days ahead: it reads {datetime.now(UTC):%Y-%m-%d}" if days else None


def reset_postgres_schema(url: str) -> None:
    """Drop everything in the public schema of a test database."""
    engine = sa.create_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def fresh_postgres_database(suffix: str) -> str:
    """Create (or re-create) an empty database beside the test database; return its URL."""
    assert POSTGRES_URL
    url = sa.engine.make_url(normalize_database_url(POSTGRES_URL))
    name = f"{url.database}_{suffix}"
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


# Under pytest-xdist (`-n`), each worker process runs its share of the tests on a database of
# its own beside the one given (`<name>_gw0`, ...), created empty here; children it starts
# (servers, commands) inherit it through the environment.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if POSTGRES_URL and WORKER:
    POSTGRES_URL = fresh_postgres_database(WORKER)
    os.environ["TRUSTLINE_TEST_POSTGRES_URL"] = POSTGRES_URL


def database_url_for(
    backend: str, tmp_path_factory: pytest.TempPathFactory, suffix: str | None = None
) -> str:
    """A fresh, empty database of the given backend (a separate one when `suffix` is given)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'trustline.db'}"
    if suffix:
        return fresh_postgres_database(suffix)
    assert POSTGRES_URL
    reset_postgres_schema(POSTGRES_URL)
    return normalize_database_url(POSTGRES_URL)


def build_app(database_url: str, **overrides: Any) -> Flask:
    """An app over `database_url` with test settings."""
    return create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": database_url, **overrides})


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """One app per backend, its database migrated to head."""
    app = build_app(database_url_for(request.param, tmp_path_factory))
    app.config["TEST_BACKEND"] = request.param
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        load_library()
        load_measures()
    return app


# Built-in content loaded once per backend; tests that change it restore it themselves.
# The measures tables hold the library and counselors' own questionnaires: only the library's
# rows are kept.
LIBRARY_TABLES = {
    "prompts",
    "prompt_revisions",
    "prompt_sets",
    "prompt_set_items",
    "measures",
    "measure_versions",
}


def empty_all_tables(app: Flask) -> None:
    """Delete every row, children first, except the built-in library."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name not in LIBRARY_TABLES:
                    conn.execute(table.delete())
            counselors = "SELECT id FROM measures WHERE origin <> 'library'"
            conn.execute(
                sa.text(f"DELETE FROM measure_versions WHERE measure_id IN ({counselors})")
            )
            conn.execute(sa.text("DELETE FROM measures WHERE origin <> 'library'"))


@pytest.fixture
def app(migrated_app: Flask) -> Iterator[Flask]:
    """The app, inside an app context, over a database emptied after the test."""
    migrated_app.extensions["trustline_limiter"].reset()
    with migrated_app.app_context():
        yield migrated_app
        db.session.remove()
    empty_all_tables(migrated_app)


@pytest.fixture
def backend_name(app: Flask) -> str:
    """'sqlite' or 'postgresql'."""
    return app.config["TEST_BACKEND"]


@pytest.fixture
def client(app: Flask) -> Any:
    """Flask's test client."""
    return app.test_client()


@pytest.fixture
def api(app: Flask) -> ApiClient:
    """An anonymous API client."""
    return ApiClient(app.test_client())


@pytest.fixture
def alice(app: Flask) -> ApiClient:
    """A registered, logged-in partner."""
    return make_partner(app, "alice@example.com", "Alice")


@pytest.fixture
def bob(app: Flask) -> ApiClient:
    """Another registered, logged-in partner."""
    return make_partner(app, "bob@example.com", "Bob")


@pytest.fixture
def couple(alice: ApiClient, bob: ApiClient) -> dict[str, Any]:
    """Alice and Bob, paired (Alice invited)."""
    return pair(alice, bob)


@pytest.fixture
def carol(app: Flask) -> ApiClient:
    """A partner of another couple (paired with Dave)."""
    carol = make_partner(app, "carol@example.com", "Carol")
    pair(carol, make_partner(app, "dave@example.com", "Dave"))
    return carol


@pytest.fixture
def counselor(app: Flask) -> ApiClient:
    """A counselor linked to nobody."""
    return make_counselor(app, "dr.kim@example.com", "Dr Kim")


@pytest.fixture
def one_of_everything(
    app: Flask, alice: ApiClient, bob: ApiClient, couple: dict, counselor: ApiClient
) -> dict:
    """Alice and Bob with a counselor linked (shared_content) and one object of every kind:
    a revealed check-in, a schedule, an agreement, a conversation, an exercise, a pending
    link to a second counselor, Alice's device and journal entry, each made through its
    domain's service. Returns the ids by path name."""

    link_counselor(alice, bob, counselor, couple["id"], "shared_content")
    checkin = revealed_checkin(alice, bob, couple["id"])
    schedule = scheduling.create_schedule(
        couple=couple_by_id(couple["id"]),
        user=user_of(alice),
        data=ScheduleCreateSchema().load(
            {"prompt_set": "daily_pulse", "frequency": "daily", "local_time": "20:00"}
        ),
    )
    agreement = agreements.create_agreement(
        couple=couple_by_id(couple["id"]),
        user=user_of(alice),
        **AgreementCreateSchema().load(
            {"title": "T", "items": [{"category": "plans", "text": "We share plans."}]}
        ),
    )
    conversation = conversations.start(
        couple=couple_by_id(couple["id"]),
        user=user_of(alice),
        template_key="processing_a_trigger",
        roles={"hurt_partner": alice.user["id"]},
    )
    exercise = counseling.assign_exercise(
        couple=couple_by_id(couple["id"]),
        counselor=user_of(counselor),
        **ExerciseCreateSchema().load({"kind": "reflection", "prompts": ["x"]}),
    )
    second = make_counselor(app, "dr.lee@example.com", "Dr Lee")
    pending = propose_counselor(alice, second, couple["id"])
    device = notifications.register_device(
        user_id=alice.user["id"],
        session_id=session_id_of(alice),
        platform="ios",
        token="device-token-1",
        confirm_fresh_login=lambda: None,  # her login is fresh: she has just registered
    )
    entry = journal.write(user=user_of(alice), text="mine")
    assert pending.status == "pending" and checkin.revealed_at is not None
    return {
        "checkin_id": checkin.id,
        "schedule_id": schedule.id,
        "agreement_id": agreement.id,
        "conversation_id": conversation.id,
        "exercise_id": exercise.id,
        "couple_id": couple["id"],
        "link_id": pending.id,
        "device_id": device.id,
        "entry_id": entry.id,
    }
