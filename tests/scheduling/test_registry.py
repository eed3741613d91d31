"""Scheduled work is declared in its domain: the registry holds every job, the tick runs it."""

from __future__ import annotations

import ast
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from backend import jobs
from backend.extensions import db
from backend.notifications import service as notifications
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from backend.unit_of_work import in_use_case
from tests.scheduling.test_tick import checkins, daily_at

BACKEND = Path(__file__).resolve().parents[2] / "backend"
MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXPECTED = [
    # stage "work": domain by domain, each domain's jobs in its module's order
    "agreements.end_due",
    "agreements.send_review_reminders",
    "checkins.close_expired",
    "checkins.send_reminders",
    "conversations.prompt_long_pauses",
    "counseling.remind_due_exercises",
    "measures.open_due",
    "measures.close_expired",
    "measures.send_reminders",
    # stage "deliver": what the work above stored is pushed in the same tick
    "notifications.deliver_push",
    # stage "purge"
    "accounts.purge_expired_sessions",
    "accounts.purge_old_activity",
    "idempotency.purge_expired",
]


@pytest.fixture
def scratch_registry(app, monkeypatch):
    """The registry as the app has it, to add jobs to for one test only."""
    monkeypatch.setattr(jobs, "_registry", dict(jobs._registry))


def test_the_registry_holds_every_domains_jobs_in_the_order_the_tick_runs_them(app):
    assert [j.name for j in jobs.registered()] == EXPECTED
    assert [j.name for j in jobs.registered() if j.own_transactions] == [
        "measures.open_due",
        "notifications.deliver_push",
    ]


def test_every_count_the_jobs_declare_is_in_a_tick_report(app):
    report = tick(now=MONDAY_NOON)
    for name in jobs.count_names():
        assert getattr(report, name) == 0
    with pytest.raises(AttributeError):
        _ = report.no_such_count


def test_a_domains_job_runs_from_the_tick(alice, bob, couple):
    with time_machine.travel(MONDAY_NOON, tick=False):
        daily_at(alice.login())
    with time_machine.travel(MONDAY_NOON + timedelta(hours=7, minutes=1), tick=False):
        tick()
    # 24 hours later the check-ins domain's job closes what the scheduler opened.
    with time_machine.travel(MONDAY_NOON + timedelta(days=1, hours=7, minutes=2), tick=False):
        report = tick()
    assert report.expired == 1
    assert [c.status for c in checkins()] == ["expired", "open"]


def test_a_registered_job_runs_once_per_tick_as_one_unit_of_work(app, scratch_registry):
    seen: list[tuple[datetime, bool]] = []

    @jobs.job("tests.count_runs", counts=("test_runs",))
    def count_runs(run: jobs.JobRun) -> jobs.Counts:
        seen.append((run.now, in_use_case()))
        return {"test_runs": 1}

    report = tick(now=MONDAY_NOON)
    assert report.test_runs == 1
    assert seen == [(MONDAY_NOON, True)]


def test_a_failing_job_rolls_its_work_back_and_ends_the_tick(alice, scratch_registry):
    user_id = alice.user["id"]
    later: list[str] = []

    @jobs.job("tests.fails_halfway", counts=())
    def fails_halfway(run: jobs.JobRun) -> jobs.Counts:
        notifications.notify(user_ids=[user_id], kind="test", title="t", body="b")
        db.session.flush()
        raise RuntimeError("halfway")

    @jobs.job("tests.after", counts=())
    def after(run: jobs.JobRun) -> jobs.Counts:
        later.append("ran")
        return {}

    with pytest.raises(RuntimeError):
        tick(now=MONDAY_NOON)
    stored = sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "test")
    assert db.session.scalar(stored) == 0
    assert later == []


def test_a_job_may_report_only_what_it_declared(app, scratch_registry):
    @jobs.job("tests.undeclared", counts=("declared",))
    def undeclared(run: jobs.JobRun) -> jobs.Counts:
        return {"something_else": 1}

    with pytest.raises(ValueError, match="undeclared"):
        tick(now=MONDAY_NOON)
    db.session.rollback()


def test_a_name_is_registered_once(app, scratch_registry):
    with pytest.raises(ValueError, match="already registered"):
        jobs.register("checkins.close_expired", lambda run: {}, counts=())


def test_a_stop_request_ends_the_tick_between_jobs(app, scratch_registry):
    stop = threading.Event()
    ran: list[str] = []

    @jobs.job("tests.asks_to_stop", counts=(), stage="purge")
    def asks_to_stop(run: jobs.JobRun) -> jobs.Counts:
        ran.append("first")
        stop.set()
        return {}

    @jobs.job("tests.never_runs", counts=(), stage="purge")
    def never_runs(run: jobs.JobRun) -> jobs.Counts:
        ran.append("second")
        return {}

    tick(now=MONDAY_NOON, stop=stop)
    assert ran == ["first"]


def _imports(path: Path) -> list[str]:
    """The modules a file imports ("backend.x.y" for `from backend.x import y`, too)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _domains() -> set[str]:
    return {p.name for p in BACKEND.iterdir() if (p / "__init__.py").exists()}


def test_the_registry_imports_no_domain():
    domains = _domains()
    imported = _imports(BACKEND / "jobs.py")
    assert not [n for n in imported if n.startswith("backend.") and n.split(".")[1] in domains]


@pytest.mark.parametrize("path", sorted(BACKEND.glob("*/jobs.py")), ids=lambda p: p.parent.name)
def test_a_jobs_module_reaches_other_domains_only_through_their_services(path):
    domains, own = _domains(), path.parent.name
    reaches = [
        name
        for name in _imports(path)
        if name.startswith("backend.")
        and name.split(".")[1] in domains - {own}
        and name.split(".")[2:3] != ["service"]
    ]
    assert reaches == []


def _refused() -> sa.exc.IntegrityError:
    return sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))


def test_a_batch_refused_once_is_fired_again_without_what_exists(caplog):
    fired: list[bool] = []

    def fire(skip_opened: bool) -> jobs.BatchCounts:
        fired.append(skip_opened)
        if not skip_opened:
            raise _refused()
        return 5, 4, 1

    assert jobs.fire_batch_at_most_twice(fire, what="a batch") == (5, 4, 1)
    assert fired == [False, True]
    assert "a batch met an occurrence already opened; firing it again without it" in caplog.text


def test_a_batch_refused_twice_ends_the_claims_without_a_third_try(caplog):
    fired: list[bool] = []

    def fire(skip_opened: bool) -> jobs.BatchCounts:
        fired.append(skip_opened)
        raise _refused()

    assert jobs.fire_batch_at_most_twice(fire, what="a measure batch") == (0, 0, 0)
    assert fired == [False, True]
    assert "a measure batch met an occurrence opened meanwhile" in caplog.text


def test_a_batch_that_fires_is_fired_once():
    fired: list[bool] = []

    def fire(skip_opened: bool) -> jobs.BatchCounts:
        fired.append(skip_opened)
        return 3, 3, 0

    assert jobs.fire_batch_at_most_twice(fire, what="a batch") == (3, 3, 0)
    assert fired == [False]
