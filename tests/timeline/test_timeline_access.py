"""Who may read a timeline page, now that the session check, the couple and the page are one
statement (`backend.access.with_couple_timeline`): the same answers as every other partner
route, in the same order (401, then 404, then what is wrong with the query)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from backend.access import with_couple_timeline
from backend.extensions import db
from backend.pagination import Page
from tests.helpers import ApiClient, assert_problem, make_partner

BAD_QUERIES = ("?limit=0", "?kinds=secrets", "?cursor=garbage")


@pytest.mark.parametrize("query", ["", *BAD_QUERIES])
def test_without_a_login_it_is_401_whatever_the_query(api: ApiClient, query: str):
    assert_problem(api.get(f"/couple/timeline{query}"), 401)


@pytest.mark.parametrize("query", ["", *BAD_QUERIES])
def test_after_logging_out_it_is_401_whatever_the_query(alice, couple, query: str):
    assert alice.post("/auth/logout").status_code == 204
    body = assert_problem(alice.get(f"/couple/timeline{query}"), 401)
    assert "items" not in body and couple["id"] not in str(body)


@pytest.mark.parametrize("query", ["", *BAD_QUERIES])
def test_a_counselor_and_a_partner_with_no_couple_get_404_whatever_the_query(
    app, counselor, query: str
):
    loner = make_partner(app, "loner@example.com", "Loner")
    assert_problem(counselor.get(f"/couple/timeline{query}"), 404)
    assert_problem(loner.get(f"/couple/timeline{query}"), 404)


def test_a_partner_hears_what_is_wrong_with_the_query_only_once_checked(alice, couple):
    assert_problem(alice.get("/couple/timeline?limit=0"), 422, "limit")


def test_a_page_is_one_statement_with_the_session_check(app, alice, couple, carol):
    alice.get("/couple/timeline")  # the session noted as used: the next request writes nothing
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        first = alice.get("/couple/timeline?limit=1")
        second = alice.get(
            "/couple/timeline", query_string={"cursor": first.get_json()["next_cursor"]}
        )
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert first.status_code == second.status_code == 200
    assert len(statements) == 2, statements
    assert all("auth_sessions" in s and "timeline_events" in s for s in statements)
    # and no other couple's event is on either page (Carol and Dave paired after them)
    summaries = str(first.get_json()) + str(second.get_json())
    assert "Carol" not in summaries and "Dave" not in summaries


def test_an_ex_partner_still_reads_the_ended_couples_timeline(alice, bob, couple):
    assert bob.post("/couple/leave", json={}).status_code in (200, 204)
    response = bob.get("/couple/timeline")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["items"]


def test_a_view_that_answers_without_reading_the_page_is_refused(app: Flask, alice, couple):
    @with_couple_timeline
    def careless(read_page) -> Page:
        return Page(items=["what nobody checked"], next_cursor=None)

    headers = {"Authorization": f"Bearer {alice.tokens['access_token']}"}
    context = app.test_request_context("/api/v1/couple/timeline", headers=headers)
    with context, pytest.raises(RuntimeError, match="without calling read_page"):
        careless()


def test_a_refused_view_with_a_dead_session_is_401_not_its_own_error(app: Flask, alice, couple):
    from flask_jwt_extended.exceptions import RevokedTokenError

    @with_couple_timeline
    def failing(read_page) -> Page:
        raise ValueError("the view's own failure")

    headers = {"Authorization": f"Bearer {alice.tokens['access_token']}"}
    alice.post("/auth/logout")
    context = app.test_request_context("/api/v1/couple/timeline", headers=headers)
    with context, pytest.raises(RevokedTokenError):
        failing()


def test_a_database_failure_in_the_page_is_not_hidden_by_a_second_check(
    app: Flask, alice, couple, monkeypatch
):
    """The page's own failure goes on as it is (to the retry or the 503), not replaced by
    what a second session check on the same broken connection would raise."""
    from backend.timeline import service as timeline

    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(timeline, "list_events_after", broken)
    body = assert_problem(alice.get("/couple/timeline"), 503)
    assert "locked" not in str(body)
    assert len(calls) == 3  # a transient conflict: run again, 3 attempts in all, then 503
