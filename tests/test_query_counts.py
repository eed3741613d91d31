"""Lists cost the same whatever their length: a page of 50 runs as many statements as a page of 1.

Each case builds one item through the API, counts the statements of one request for the list,
adds the rest, and counts again. The request is made once before each count, so the
once-a-minute note of the session's last use is not counted in one and not the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from backend.extensions import db
from tests.counseling.helpers import link
from tests.helpers import ApiClient, answers_for, make_counselor, make_partner, pair
from tests.measures.helpers import COUNSELOR_MEASURE, published_measure, share

MANY = 50


@contextmanager
def counting() -> Iterator[list[str]]:
    """Collect every statement the engine sends while the block runs."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)


def items_of(body: Any) -> list[Any]:
    """The items of a list response, paged (`items`) or bare."""
    return body["items"] if isinstance(body, dict) and "items" in body else body


def statements_for(client: ApiClient, path: str, expected: int, key: str | None) -> list[str]:
    """The statements of one request for the list, after checking it holds `expected` items."""
    assert client.get(path).status_code == 200
    with counting() as statements:
        response = client.get(path)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert len(items_of(body[key] if key else body)) == expected, body
    return statements


def repeated(statements: list[str]) -> str:
    """The statements run more than once, with their counts (for a failure's message)."""
    counts = Counter(" ".join(s.split())[:160] for s in statements)
    return "\n".join(f"{n} x {text}" for text, n in counts.most_common() if n > 1)


@dataclass
class World:
    """The people a case builds its items with."""

    app: Flask
    alice: ApiClient
    bob: ApiClient
    couple: dict[str, Any]
    made: int = 0

    def next(self) -> int:
        self.made += 1
        return self.made

    def counselor(self) -> ApiClient:
        n = self.next()
        return make_counselor(self.app, f"counselor{n}@example.com", f"Counselor {n}")

    def linked_counselor(self) -> ApiClient:
        if not hasattr(self, "_counselor"):
            self._counselor = self.counselor()
            self._link = link(self.alice, self.bob, self._counselor)
        return self._counselor


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    return response.get_json()


# Each case: (name, add one item -> None, the caller and path of the list, how many, key).
def add_agreement(w: World) -> None:
    n = w.next()
    body = {
        "title": f"Agreement {n}",
        "items": [{"category": "contact", "text": f"We talk about it, {n}.", "applies_to": "both"}],
    }
    agreement = ok(w.alice.post("/couple/agreements", json=body))
    ok(w.bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}), 200)


def add_checkin(w: World) -> None:
    checkin = ok(w.alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}))
    ok(
        w.alice.put(f"/checkins/{checkin['id']}/answers", json={"answers": answers_for(checkin)}),
        200,
    )
    ok(w.bob.put(f"/checkins/{checkin['id']}/answers", json={"answers": answers_for(checkin)}), 200)


def add_journal(w: World) -> None:
    ok(w.alice.post("/me/journal", json={"text": f"Entry {w.next()}"}))


def add_device(w: World) -> None:
    # One device per sign-in: a device registered again replaces its token.
    phone = ApiClient(w.app.test_client(), {"user": w.alice.user}).login()
    ok(phone.post("/me/devices", json={"platform": "ios", "token": f"phone-token-{w.next():06d}"}))


def add_conversation(w: World) -> None:
    body = {"template": "repair_after_betrayal", "roles": {"hurt_partner": w.alice.user["id"]}}
    conversation = ok(w.alice.post("/couple/conversations", json=body))
    # One conversation goes on at a time: ending each lets the next begin.
    ok(w.alice.post(f"/conversations/{conversation['id']}/abandon"), 200)


def add_exercise(w: World) -> None:
    counselor = w.linked_counselor()
    body = {"kind": "reflection", "instructions": f"Reflect {w.next()}.", "prompts": ["When?"]}
    ok(counselor.post(f"/counselor/couples/{w.couple['id']}/exercises", json=body))


def add_schedule(w: World) -> None:
    n = w.next()
    body = {
        "prompt_set": "weekly_trust_checkin",
        "frequency": "daily",
        "local_time": f"{n // 60:02d}:{n % 60:02d}",
    }
    ok(w.alice.post("/couple/schedules", json=body))


def add_counselor_link(w: World) -> None:
    link(w.alice, w.bob, w.counselor())


def add_feed(w: World) -> None:
    ok(w.alice.post("/me/calendar-feeds", json={"label": f"Feed {w.next()}"}))


def add_session(w: World) -> None:
    w.alice.client.post(
        "/api/v1/auth/login",
        json={"email": w.alice.user["email"], "password": "correct horse battery"},
    )


def add_linked_couple(w: World) -> None:
    counselor = w.linked_counselor()
    n = w.next()
    one = make_partner(w.app, f"p{n}a@example.com", f"P{n}a")
    two = make_partner(w.app, f"p{n}b@example.com", f"P{n}b")
    pair(one, two)
    link(one, two, counselor)
    checkin = ok(one.post("/couple/checkins", json={"prompt_set": "daily_pulse"}))
    ok(one.put(f"/checkins/{checkin['id']}/answers", json={"answers": answers_for(checkin)}), 200)


def add_counselor_measure(w: World) -> None:
    counselor = w.linked_counselor()
    ok(counselor.post("/counselor/measures", json={**COUNSELOR_MEASURE, "title": f"M {w.next()}"}))


def add_measure_response(w: World) -> None:
    ok(w.alice.post("/me/measure-responses", json={"measure": "phq9"}))


def add_assignment(w: World) -> None:
    counselor = w.linked_counselor()
    if not hasattr(w, "_measure"):
        w._measure = published_measure(counselor)
    body = {"measure": w._measure["key"], "partners": "both", "frequency": "weekly"}
    body["local_time"] = "19:00"
    ok(counselor.post(f"/counselor/couples/{w.couple['id']}/measure-assignments", json=body))


def add_sharing_link(w: World) -> None:
    counselor = w.counselor()
    linked = link(w.alice, w.bob, counselor)
    share(w.alice, linked["id"])


def the_list(case: str, w: World) -> tuple[ApiClient, str, str | None]:
    """Who asks for the list of `case`, at which path, and where its items are."""
    couple_id = w.couple["id"]
    return {
        "agreements": (w.alice, "/couple/agreements?limit=100", None),
        "checkins": (w.alice, "/couple/checkins?limit=100", None),
        "timeline": (w.alice, "/couple/timeline?limit=100", None),
        "notifications": (w.bob, "/me/notifications?limit=100", None),
        "journal": (w.alice, "/me/journal?limit=100", None),
        "devices": (w.alice, "/me/devices?limit=100", None),
        "conversations": (w.alice, "/couple/conversations?limit=100", None),
        "exercises": (w.alice, "/couple/exercises", None),
        "schedules": (w.alice, "/couple/schedules", None),
        "counselor_links": (w.alice, "/couple/counselor-links", None),
        "calendar_feeds": (w.alice, "/me/calendar-feeds?limit=100", None),
        "sessions": (w.alice, "/me/sessions?limit=100", None),
        "activity": (w.alice, "/me/activity?limit=100", None),
        "counselor_couples": (getattr(w, "_counselor", None), "/counselor/couples", None),
        "counselor_measures": (getattr(w, "_counselor", None), "/counselor/measures", None),
        "measure_responses": (w.alice, "/me/measure-responses?limit=100", None),
        "measure_assignments": (
            getattr(w, "_counselor", None),
            f"/counselor/couples/{couple_id}/measure-assignments",
            None,
        ),
        "measure_sharing": (w.alice, "/me/measure-sharing", "counselors"),
    }[case]


CASES: dict[str, tuple[Callable[[World], None], int]] = {
    # name: (add one item, how many to add in all)
    "agreements": (add_agreement, MANY),
    "checkins": (add_checkin, MANY),
    "timeline": (add_agreement, MANY),
    "notifications": (add_agreement, MANY),
    "journal": (add_journal, MANY),
    "devices": (add_device, MANY),
    "conversations": (add_conversation, MANY),
    "exercises": (add_exercise, MANY),
    "schedules": (add_schedule, MANY),
    "counselor_links": (add_counselor_link, MANY),
    "calendar_feeds": (add_feed, 10),  # a partner has at most ten feeds
    "sessions": (add_session, MANY),
    "activity": (add_session, MANY),
    "counselor_couples": (add_linked_couple, MANY),
    "counselor_measures": (add_counselor_measure, MANY),
    "measure_responses": (add_measure_response, MANY),
    "measure_assignments": (add_assignment, MANY),
    "measure_sharing": (add_sharing_link, MANY),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_list_of_many_costs_what_a_list_of_one_costs(app, alice, bob, couple, case):
    add, many = CASES[case]
    w = World(app=app, alice=alice, bob=bob, couple=couple)
    add(w)
    caller, path, key = the_list(case, w)
    one = len(items_of(ok(caller.get(path), 200) if not key else ok(caller.get(path), 200)[key]))
    few = statements_for(caller, path, one, key)
    for _ in range(many - 1):
        add(w)
    caller, path, key = the_list(case, w)
    body = ok(caller.get(path), 200)
    more = len(items_of(body[key] if key else body))
    assert more > one
    lots = statements_for(caller, path, more, key)
    assert len(lots) == len(few), repeated(lots)
