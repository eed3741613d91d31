"""Shapes of the shared timeline."""

from __future__ import annotations

from datetime import UTC
from typing import Any

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


def event_json(row: Any) -> dict[str, Any]:
    """One event row (from `timeline.service.list_events_after`, its columns in
    `PAGE_COLUMNS`' order) as `TimelineEventSchema` dumps it, without marshmallow's work per
    field: the timeline is the API's most frequent read. The row is unpacked as the tuple it
    is (reading a row's columns by name costs more than the rest of this function).
    `tests/timeline/test_timeline_shape.py` holds the two equal."""
    event_id, kind, occurred_at, actor_id, subject_type, subject_id, summary = row
    if occurred_at.tzinfo is not UTC:  # the column's type hands back UTC; anything else is made so
        if occurred_at.tzinfo is None:
            occurred_at = occurred_at.replace(tzinfo=UTC)
        occurred_at = occurred_at.astimezone(UTC)
    # UTCDateTime's format; isoformat is three times as fast as strftime.
    return {
        "id": event_id,
        "kind": kind,
        "occurred_at": occurred_at.isoformat(timespec="seconds")[:19] + "Z",
        "actor_id": actor_id,
        "subject": None if subject_type is None else {"type": subject_type, "id": subject_id},
        "summary": summary,
    }


class TimelinePageSchema(ma.Schema):
    """A page of events, newest first."""

    items = ma.fields.List(ma.fields.Nested(TimelineEventSchema))
    next_cursor = ma.fields.String(allow_none=True)

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """A page of event rows, each shaped by `event_json` (the fields above describe it)."""
        return {"items": [event_json(row) for row in obj.items], "next_cursor": obj.next_cursor}
