"""Shapes of the shared timeline."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.fields import RepeatedList, UTCDateTime
from backend.pagination import PageArgsSchema
from backend.timeline.models import KINDS


class TimelineQueryArgsSchema(PageArgsSchema):
    """`?kinds=&cursor=&limit=`."""

    kinds = RepeatedList(
        ma.fields.String(validate=validate.OneOf(KINDS)),
        metadata={
            "description": "Only events of these kinds: repeat the parameter "
            "(`kinds=paired&kinds=checkin_revealed`); one comma-separated value "
            "(`kinds=paired,checkin_revealed`) is accepted too. Left out: every kind."
        },
    )


class SubjectSchema(ma.Schema):
    """What an event is about."""

    type = ma.fields.String(metadata={"example": "couple"})
    id = ma.fields.String()


class TimelineEventSchema(ma.Schema):
    """One event; its summary holds no private content."""

    id = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(KINDS)})
    occurred_at = UTCDateTime()
    actor_id = ma.fields.String(allow_none=True)
    subject = ma.fields.Nested(SubjectSchema, allow_none=True)
    summary = ma.fields.String()


class TimelinePageSchema(ma.Schema):
    """A page of events, newest first."""

    items = ma.fields.List(ma.fields.Nested(TimelineEventSchema))
    next_cursor = ma.fields.String(allow_none=True)
