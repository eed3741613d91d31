"""A response's schema shows it to its author alone, whatever path dumps it."""

from __future__ import annotations

import pytest

from backend.accounts.models import User
from backend.extensions import db
from backend.measures.models import MeasureResponse
from backend.measures.schemas import MeasureResponseSchema, MeasureResponseSummarySchema
from backend.viewer import viewing
from tests.measures.helpers import phq9_answers, start, submit


def test_a_response_is_shown_to_its_author_and_to_nobody_else_whatever_the_path(alice, bob):
    # The schema holds the rule on its own: a path that forgot to check who asks gets an
    # error, never the response.
    mine = start(alice)
    submit(alice, mine["id"], phq9_answers(1))
    response = db.session.get(MeasureResponse, mine["id"])
    with viewing(db.session.get(User, alice.user["id"])):
        shown = MeasureResponseSchema().dump(response)
    assert shown["id"] == mine["id"] and shown["score"] == 1
    for schema in (MeasureResponseSchema(), MeasureResponseSummarySchema()):
        with viewing(db.session.get(User, bob.user["id"])), pytest.raises(LookupError):
            schema.dump(response)
