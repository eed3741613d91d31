"""Counselors assign measures; the tick opens each occurrence once, reminds once, closes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.measures import jobs
from backend.measures.models import MeasureResponse
from backend.notifications.models import Notification
from backend.scheduling.jobs import tick
from tests.counseling.helpers import link
from tests.helpers import assert_problem, make_counselor
from tests.measures.helpers import published_measure, row_counts

# Monday 12 October 2026, noon UTC; Berlin leaves summer time on Sunday 25 October.
MONDAY = datetime(2026, 10, 12, 12, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def responses(**where) -> list[MeasureResponse]:
    db.session.expire_all()
    statement = sa.select(MeasureResponse).order_by(MeasureResponse.due_at, MeasureResponse.user_id)
    for name, value in where.items():
        statement = statement.where(getattr(MeasureResponse, name) == value)
    return list(db.session.scalars(statement))


def assign(counselor, couple_id: str, **body):
    payload = {"measure": "phq9", "partners": "both", "frequency": "weekly", "local_time": "19:00"}
    return counselor.post(
        f"/counselor/couples/{couple_id}/measure-assignments", json={**payload, **body}
    )


def assign_at(moment: datetime, counselor, couple_id: str, **body):
    """Assign as the counselor would at `moment` (then log in again at the real time)."""
    with at(moment):
        counselor.login()
        response = assign(counselor, couple_id, **body)
    counselor.login()
    assert response.status_code == 201, response.get_json()
    return response


def in_berlin(*partners) -> None:
    for partner in partners:
        assert partner.patch("/me", json={"timezone": "Europe/Berlin"}).status_code == 200


def test_a_counselor_assigns_a_measure_to_both_at_their_local_times(alice, bob, couple, counselor):
    link(alice, bob, counselor)
    in_berlin(alice)
    created = assign_at(MONDAY, counselor, couple["id"], weekday="wed")
    body = created.get_json()
    due = {p["user"]["id"]: p["next_due_at"] for p in body["partners"]}
    # Wednesday 19:00 where each partner lives: Berlin (summer time) and UTC.
    assert due == {alice.user["id"]: "2026-10-14T17:00:00Z", bob.user["id"]: "2026-10-14T19:00:00Z"}
    assert body["window_hours"] == 72 and body["status"] == "active"
    listed = counselor.get(f"/counselor/couples/{couple['id']}/measure-assignments").get_json()
    assert [a["id"] for a in listed] == [body["id"]]


def test_the_tick_opens_each_occurrence_once_reminds_once_and_closes(
    app, alice, bob, couple, counselor
):
    link(alice, bob, counselor)
    assign_at(MONDAY, counselor, couple["id"], partners=[bob.user["id"]], frequency="once")
    due = datetime(2026, 10, 12, 19, 0, tzinfo=UTC)
    first = jobs.run(now=due + timedelta(minutes=1))
    again = jobs.run(now=due + timedelta(minutes=2))
    tick(now=due + timedelta(minutes=3))
    assert (first.opened, again.opened) == (1, 0)
    [opened] = responses()
    assert opened.user_id == bob.user["id"] and opened.status == "open"
    assert opened.closes_at == due + timedelta(days=7)
    kinds = db.session.scalars(
        sa.select(Notification.kind).where(Notification.user_id == bob.user["id"])
    ).all()
    assert kinds.count("measure_opened") == 1
    # Alice was not asked: nothing tells her that Bob was.
    alice_kinds = db.session.scalars(
        sa.select(Notification.kind).where(Notification.user_id == alice.user["id"])
    ).all()
    assert not [k for k in alice_kinds if k.startswith("measure")]
    assert alice.get("/me/measure-responses").get_json()["items"] == []
    listed = bob.get("/me/measure-responses?status=open").get_json()["items"]
    assert [r["id"] for r in listed] == [opened.id] and listed[0]["source"] == "assigned"
    # One reminder, a day before it closes; then it closes.
    assert jobs.run(now=due + timedelta(days=6, hours=1)).reminded == 1
    assert jobs.run(now=due + timedelta(days=6, hours=2)).reminded == 0
    assert jobs.run(now=due + timedelta(days=7, minutes=1)).expired == 1
    assert responses()[0].status == "expired"
    assert jobs.run(now=due + timedelta(days=30)).opened == 0  # once is once


def test_a_weekly_assignment_at_19_berlin_keeps_its_local_time_across_dst(
    alice, bob, couple, counselor
):
    link(alice, bob, counselor)
    in_berlin(alice)
    assign_at(MONDAY, counselor, couple["id"], partners=[alice.user["id"]], weekday="sun")
    expected = [
        datetime(2026, 10, 18, 17, 0, tzinfo=UTC),  # CEST
        datetime(2026, 10, 25, 18, 0, tzinfo=UTC),  # CET: the clocks went back that morning
        datetime(2026, 11, 1, 18, 0, tzinfo=UTC),
    ]
    for due in expected:
        jobs.run(now=due - timedelta(minutes=1))
        jobs.run(now=due + timedelta(minutes=1))
    got = [r.due_at for r in responses()]
    assert got == expected
    assert {d.astimezone(BERLIN).strftime("%a %H:%M") for d in got} == {"Sun 19:00"}


def test_every_2_and_4_weeks_skip_the_weeks_between(alice, bob, couple, counselor):
    link(alice, bob, counselor)
    assign_at(
        MONDAY,
        counselor,
        couple["id"],
        partners=[alice.user["id"]],
        frequency="biweekly",
        weekday="mon",
        local_time="20:00",
    )
    assign_at(
        MONDAY,
        counselor,
        couple["id"],
        partners=[bob.user["id"]],
        frequency="every_4_weeks",
        weekday="mon",
        local_time="20:00",
    )
    day = datetime(2026, 10, 12, 20, 1, tzinfo=UTC)
    for week in range(9):
        jobs.run(now=day + timedelta(weeks=week))
    days = {
        uid: [r.due_at.date().isoformat() for r in responses(user_id=uid)]
        for uid in (alice.user["id"], bob.user["id"])
    }
    assert days[alice.user["id"]] == [
        "2026-10-12",
        "2026-10-26",
        "2026-11-09",
        "2026-11-23",
        "2026-12-07",
    ]
    assert days[bob.user["id"]] == ["2026-10-12", "2026-11-09", "2026-12-07"]


def test_a_scheduler_that_was_down_opens_what_is_still_open_and_records_the_rest_as_missed(
    alice, bob, couple, counselor
):
    link(alice, bob, counselor)
    assign_at(MONDAY, counselor, couple["id"], partners=[alice.user["id"]], weekday="tue")
    # Down from before Tuesday 13 October until Wednesday 21 October, 12:00: the first 72-hour
    # window has closed, the second (Tuesday 20th, 19:00) is still open.
    report = jobs.run(now=datetime(2026, 10, 21, 12, 0, tzinfo=UTC))
    assert (report.opened, report.missed) == (1, 1)
    assert [r.status for r in responses()] == ["missed", "open"]


def test_concurrent_schedulers_open_each_occurrence_exactly_once(
    app, alice, bob, couple, counselor
):
    link(alice, bob, counselor)
    for _ in range(5):
        assign_at(MONDAY, counselor, couple["id"], frequency="weekly", weekday="mon")
    now = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)  # four Mondays' occurrences are due
    errors: list[BaseException] = []

    def scheduler() -> None:
        with app.app_context():
            try:
                jobs.run(now=now, batch_size=2)
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    jobs.run(now=now)  # whatever a rolled-back batch left is opened now, once
    keys = [(r.assignment_id, r.user_id, r.due_at) for r in responses()]
    # 5 assignments x 2 partners x 4 Mondays (12, 19, 26 Oct and 2 Nov)
    assert len(keys) == 40 and len(set(keys)) == 40


def test_an_occurrence_already_opened_elsewhere_is_left_out_and_doubles_nothing(
    alice, bob, couple, counselor
):
    link(alice, bob, counselor)
    assign_at(MONDAY, counselor, couple["id"], partners=[alice.user["id"]], frequency="once")
    due = datetime(2026, 10, 12, 19, 0, tzinfo=UTC)
    jobs.run(now=due + timedelta(minutes=1))
    [opened] = responses()
    # As if another process had opened it while this one still saw it due:
    from backend.measures.models import AssignedPartner

    part = db.session.scalars(sa.select(AssignedPartner)).one()
    part.status, part.next_due_at = "active", due
    db.session.commit()
    claimed, opened_now, _ = jobs.run_due_batch(now=due + timedelta(minutes=2), limit=10)
    assert (claimed, opened_now) == (1, 0)
    assert [r.id for r in responses()] == [opened.id]
    # The partner's row moved past the occurrence that exists: it is not claimed again and
    # again (every tick would have spun on it and opened nothing else).
    assert jobs.run_due_batch(now=due + timedelta(minutes=3), limit=10) == (0, 0, 0)
    db.session.expire_all()
    assert db.session.get(AssignedPartner, part.id).status == "done"


def test_nothing_opens_once_the_link_ends_or_the_assignment_is_deleted(
    alice, bob, couple, counselor
):
    linked = link(alice, bob, counselor)
    kept = assign_at(MONDAY, counselor, couple["id"], weekday="mon").get_json()
    stopped = assign_at(MONDAY, counselor, couple["id"], weekday="mon", measure="gad7").get_json()
    assert counselor.delete(f"/measure-assignments/{stopped['id']}").status_code == 204
    assert_problem(counselor.delete(f"/measure-assignments/{stopped['id']}"), 409)
    jobs.run(now=datetime(2026, 10, 12, 19, 1, tzinfo=UTC))
    assert {r.assignment_id for r in responses()} == {kept["id"]}
    assert alice.delete(f"/counselor-links/{linked['id']}").status_code == 204
    jobs.run(now=datetime(2026, 10, 19, 19, 1, tzinfo=UTC))
    assert len(responses()) == 2
    assert_problem(counselor.delete(f"/measure-assignments/{kept['id']}"), 404)


def test_a_counselors_own_questionnaire_can_be_assigned_once_published(
    alice, bob, couple, counselor
):
    link(alice, bob, counselor)
    draft = counselor.post(
        "/counselor/measures", json={"title": "T", "items": [{"kind": "short_text", "text": "?"}]}
    ).get_json()
    assert_problem(assign(counselor, couple["id"], measure=draft["key"]), 422, "measure")
    measure = published_measure(counselor)
    assert assign(counselor, couple["id"], measure=measure["key"]).status_code == 201


def test_bad_assignments_are_422_naming_the_field_and_nothing_is_written(
    app, alice, bob, couple, carol, counselor
):
    link(alice, bob, counselor)
    other = make_counselor(app, "dr.other@example.com", "Dr Other")
    theirs = published_measure(other)
    before = row_counts()
    cases = [
        ({"measure": "das"}, "measure"),
        ({"measure": theirs["key"]}, "measure"),
        ({"partners": [carol.user["id"]]}, "partners"),
        ({"partners": []}, "partners"),
        ({"partners": "everyone"}, "partners"),
        ({"frequency": "daily"}, "frequency"),
        ({"local_time": "25:00"}, "local_time"),
        ({"weekday": "someday"}, "weekday"),
        ({"extra": True}, "extra"),
    ]
    for change, field in cases:
        assert_problem(assign(counselor, couple["id"], **change), 422, field)
    assert row_counts() == before


def test_assignments_are_a_linked_counselors_and_theirs_alone(app, alice, bob, couple, counselor):
    link(alice, bob, counselor)
    made = assign(counselor, couple["id"]).get_json()
    other = make_counselor(app, "dr.other@example.com", "Dr Other")
    url = f"/counselor/couples/{couple['id']}/measure-assignments"
    assert_problem(other.get(url), 404)
    assert_problem(other.post(url, json={}), 404)
    assert_problem(other.delete(f"/measure-assignments/{made['id']}"), 404)
    for partner in (alice, bob):
        assert_problem(partner.get(url), 404)
        assert_problem(partner.delete(f"/measure-assignments/{made['id']}"), 404)
