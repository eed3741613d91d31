"""The shared timeline: newest first, keyset-paginated, filtered by kind."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.extensions import db
from backend.timeline import service as timeline
from backend.timeline.models import TimelineEvent
from tests.helpers import assert_problem


def add_events(couple_id: str, count: int, *, same_instant: bool = False) -> None:
    start = clock.now()
    for n in range(count):
        moment = start if same_instant else start + timedelta(seconds=n)
        with time_machine.travel(moment, tick=False):
            timeline.record(couple_id=couple_id, kind="couple_updated", summary=f"event {n}")
    db.session.commit()


def test_pairing_is_on_the_timeline(alice, bob, couple):
    items = alice.get("/couple/timeline").get_json()["items"]
    assert len(items) == 1
    event = items[0]
    assert event["kind"] == "paired"
    assert event["actor_id"] == bob.user["id"]
    assert event["subject"] == {"type": "couple", "id": couple["id"]}
    assert event["occurred_at"].endswith("Z")
    assert "Alice" in event["summary"] and "Bob" in event["summary"]


def test_newest_first_and_pages_cover_everything_once(alice, couple):
    add_events(couple["id"], 45)
    seen, cursor = [], None
    while True:
        query = "/couple/timeline?limit=10" + (f"&cursor={cursor}" if cursor else "")
        page = alice.get(query).get_json()
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 46
    assert len({e["id"] for e in seen}) == 46
    moments = [e["occurred_at"] for e in seen]
    assert moments == sorted(moments, reverse=True)


def test_events_at_the_same_instant_are_neither_lost_nor_repeated(alice, couple):
    add_events(couple["id"], 25, same_instant=True)
    ids, cursor = [], None
    for _ in range(10):
        query = "/couple/timeline?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = alice.get(query).get_json()
        ids.extend(e["id"] for e in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(ids) == len(set(ids)) == 26


def test_events_arriving_while_paging_do_not_shift_pages(alice, couple):
    add_events(couple["id"], 30)
    original = {e.id for e in db.session.scalars(sa.select(TimelineEvent)).all()}
    seen, cursor = [], None
    while True:
        query = "/couple/timeline?limit=8" + (f"&cursor={cursor}" if cursor else "")
        page = alice.get(query).get_json()
        seen.extend(e["id"] for e in page["items"])
        with time_machine.travel(clock.now() + timedelta(minutes=5), tick=False):
            timeline.record(couple_id=couple["id"], kind="couple_updated", summary="new")
            db.session.commit()
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert original <= set(seen)


def test_filter_by_kinds(alice, bob, couple):
    add_events(couple["id"], 3)
    paired = alice.get("/couple/timeline?kinds=paired").get_json()["items"]
    assert [e["kind"] for e in paired] == ["paired"]
    both = alice.get("/couple/timeline?kinds=paired,couple_updated").get_json()["items"]
    assert len(both) == 4


def test_every_value_of_a_repeated_kinds_parameter_filters(alice, bob, couple):
    add_events(couple["id"], 3)
    both = alice.get("/couple/timeline?kinds=paired&kinds=couple_updated").get_json()["items"]
    assert sorted(e["kind"] for e in both) == ["couple_updated"] * 3 + ["paired"]
    only_updates = alice.get("/couple/timeline?kinds=couple_updated").get_json()["items"]
    assert len(only_updates) == 3


def test_repeated_and_comma_separated_kinds_mix(alice, bob, couple):
    add_events(couple["id"], 2)
    mixed = "/couple/timeline?kinds=checkin_opened&kinds=paired,couple_updated"
    assert len(alice.get(mixed).get_json()["items"]) == 3
    everything = alice.get("/couple/timeline?kinds=").get_json()["items"]
    assert len(everything) == 3


def test_an_unknown_kind_among_repeated_ones_is_named(alice, couple):
    response = alice.get("/couple/timeline?kinds=paired&kinds=secrets")
    assert_problem(response, 422, "kinds.1")
    assert "secrets" not in response.get_data(as_text=True)


def test_unknown_kind_limit_and_cursor_are_named(alice, couple):
    assert_problem(alice.get("/couple/timeline?kinds=paired,secrets"), 422, "kinds.1")
    assert_problem(alice.get("/couple/timeline?limit=0"), 422, "limit")
    assert_problem(alice.get("/couple/timeline?limit=101"), 422, "limit")
    assert_problem(alice.get("/couple/timeline?cursor=garbage"), 422, "cursor")


def test_a_couple_sees_only_its_own_events(alice, couple, carol):
    response = carol.get("/couple/timeline")
    assert response.status_code == 200, response.get_json()
    carol_items = response.get_json()["items"]
    assert carol_items
    assert couple["id"] not in str(carol_items)
    assert all("Alice" not in e["summary"] for e in carol_items)


def test_timeline_query_is_served_by_the_index(app, backend_name, alice, couple):
    """The page's statement (with the session check) walks the index in order and stops at
    the limit: no sort of the couple's events, whatever their number."""
    from backend import access

    every = access._TIMELINE_PAGE[0]
    statement = every.sqlite[1] if backend_name == "sqlite" else every.lateral[1]
    compiled = statement.compile(dialect=db.engine.dialect)
    params = compiled.construct_params(
        {"session_id": "s", "user_id": "u", "limit": 21, "moment": clock.now(), "row_id": "x"}
    )
    if backend_name == "sqlite":
        args = tuple(params[name] for name in compiled.positiontup)
        plan = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", args)
        lines = [(row[1], row[3]) for row in plan]
        assert any("ix_timeline_events_couple_occurred" in text for _, text in lines), lines
        # the statement itself sorts nothing (the couple's membership subquery may)
        assert not any(parent == 0 and "TEMP B-TREE" in text for parent, text in lines), lines
        return
    # With few rows any plan is cheap; make the planner show whether an index can serve
    # the order on its own (a wrong index would still need a sort below the page's LIMIT).
    for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
        db.session.execute(sa.text(f"SET LOCAL {setting} = off"))
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN {compiled}", params)
    text = "\n".join(row[0] for row in plan)
    page = text[text.rindex("Limit") :]  # the LATERAL page, below the check's joins
    assert "ix_timeline_events_couple_occurred" in page, text
    assert "Sort" not in page, text
