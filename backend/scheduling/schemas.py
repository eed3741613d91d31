"""Request and response shapes of schedules."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.couples import service as couples
from backend.fields import StrictBoolean, TimeZoneName, UTCDateTime
from backend.recurrence import WEEKDAYS, parse_local_time
from backend.scheduling.models import FREQUENCIES, STATUSES, Schedule
from backend.scheduling.service import effective_timezone


def _valid_local_time(value: str) -> None:
    try:
        parse_local_time(value)
    except ValueError as exc:
        raise ma.ValidationError("Use 24-hour HH:MM, e.g. 19:00.") from exc


class ScheduleCreateSchema(ma.Schema):
    """A new schedule."""

    EXAMPLE = {
        "prompt_set": "weekly_trust_checkin",
        "frequency": "weekly",
        "weekdays": ["sun"],
        "local_time": "19:00",
        "window_hours": 24,
    }

    prompt_set = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    frequency = ma.fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    weekdays = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(WEEKDAYS)),
        validate=validate.Length(max=7),
        metadata={"description": "For weekly: mon..sun. Leave out for daily."},
    )
    local_time = ma.fields.String(
        required=True, validate=_valid_local_time, metadata={"example": "19:00"}
    )
    timezone = TimeZoneName(
        allow_none=True,
        metadata={"description": "IANA name; leave out (or null) to follow the couple's."},
    )
    window_hours = ma.fields.Integer(
        validate=validate.Range(min=1, max=72),
        metadata={"description": "How long each check-in stays open (1-72, default 24)."},
    )
    reminder_hours_before_close = ma.fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=71),
        metadata={"description": "One gentle reminder this long before it closes (optional)."},
    )
    paused = StrictBoolean()


class ScheduleUpdateSchema(ScheduleCreateSchema):
    """Changes to a schedule (any field)."""

    EXAMPLE = {"local_time": "21:30", "paused": False}

    prompt_set = ma.fields.String(validate=validate.Length(min=1, max=64))
    frequency = ma.fields.String(validate=validate.OneOf(FREQUENCIES))
    local_time = ma.fields.String(validate=_valid_local_time, metadata={"example": "21:30"})


class ScheduleSchema(ma.Schema):
    """A schedule (dumped from the model: its time zone is the couple's unless it has its own,
    and it is due next only while it runs)."""

    id = ma.fields.String()
    prompt_set = ma.fields.String()
    frequency = ma.fields.String(metadata={"enum": list(FREQUENCIES)})
    weekdays = ma.fields.List(ma.fields.String())
    local_time = ma.fields.String()
    timezone = ma.fields.String()
    follows_couple_timezone = ma.fields.Boolean()
    window_hours = ma.fields.Integer()
    reminder_hours_before_close = ma.fields.Integer(allow_none=True)
    paused = ma.fields.Boolean()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    next_due_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()

    @ma.pre_dump
    def _shown(self, schedule: Schedule, **_: Any) -> dict[str, Any]:
        couple = couples.couple_by_id(schedule.couple_id)
        running = schedule.status == "active" and not schedule.paused
        return {
            "id": schedule.id,
            "prompt_set": schedule.prompt_set_key,
            "frequency": schedule.frequency,
            "weekdays": schedule.weekdays,
            "local_time": schedule.local_time,
            "timezone": effective_timezone(schedule, couple),
            "follows_couple_timezone": schedule.timezone is None,
            "window_hours": schedule.window_hours,
            "reminder_hours_before_close": schedule.reminder_hours_before_close,
            "paused": schedule.paused,
            "status": schedule.status,
            "next_due_at": schedule.next_due_at if running else None,
            "created_at": schedule.created_at,
            "updated_at": schedule.updated_at,
        }


class UpcomingArgsSchema(ma.Schema):
    """`?count=`."""

    count = ma.fields.Integer(load_default=5, validate=validate.Range(min=1, max=50))


class OccurrenceSchema(ma.Schema):
    """One coming occurrence."""

    at = UTCDateTime()
    local = ma.fields.String(metadata={"example": "2026-11-29T19:00:00+01:00"})
    local_date = ma.fields.String(metadata={"example": "2026-11-29"})
    local_time = ma.fields.String(metadata={"example": "19:00"})
    timezone = ma.fields.String()
