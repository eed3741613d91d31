"""Request and response shapes of counseling."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.accounts.schemas import PersonSchema
from backend.checkins.schemas import ANSWER_VALUE, TrendsSchema
from backend.conversations.schemas import ConversationSchema
from backend.counseling.models import EXERCISE_KINDS, EXERCISE_STATUSES, LINK_STATUSES, SCOPES
from backend.fields import DataKeyedDict, Trimmed, UTCDateTime
from backend.timeline.schemas import TimelineEventSchema


class LinkCodeSchema(ma.Schema):
    """A code to give a couple."""

    code = ma.fields.String(metadata={"example": "K7MX3QPA"})
    expires_at = UTCDateTime()


class LinkProposeSchema(ma.Schema):
    """Link the counselor whose code this is."""

    EXAMPLE = {"code": "K7MX3QPA", "scope": "progress"}

    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    scope = ma.fields.String(
        load_default="progress",
        validate=validate.OneOf(SCOPES),
        metadata={
            "description": "progress (default): completion, statuses, timeline. shared_content: "
            "also shared answers once revealed, and conversation entries. Never private ones."
        },
    )


class LinkSchema(ma.Schema):
    """A counselor link."""

    id = ma.fields.String()
    counselor = ma.fields.Nested(PersonSchema)
    scope = ma.fields.String(metadata={"enum": list(SCOPES)})
    status = ma.fields.String(metadata={"enum": list(LINK_STATUSES)})
    proposed_by = ma.fields.Nested(PersonSchema, allow_none=True)
    proposed_at = UTCDateTime()
    activated_at = UTCDateTime(allow_none=True)
    ended_at = UTCDateTime(allow_none=True)


class ExerciseCreateSchema(ma.Schema):
    """An exercise to assign."""

    EXAMPLE = {
        "kind": "reflection",
        "instructions": "Write down one moment this week when you felt trusted.",
        "prompts": ["When did you feel trusted this week?"],
    }

    kind = ma.fields.String(required=True, validate=validate.OneOf(EXERCISE_KINDS))
    template = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "checkin: a prompt set key; conversation: a template key."},
    )
    instructions = Trimmed(load_default="", validate=validate.Length(max=2000))
    prompts = ma.fields.List(
        Trimmed(validate=validate.Length(min=1, max=500)),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "reflection: your own prompts."},
    )
    due_on = ma.fields.Date(load_default=None, allow_none=True)


class PartSchema(ma.Schema):
    """One partner's part."""

    user = ma.fields.Nested(PersonSchema)
    completed_at = UTCDateTime(allow_none=True)


class ExerciseSchema(ma.Schema):
    """An assigned exercise."""

    id = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(EXERCISE_KINDS)})
    template = ma.fields.String(allow_none=True)
    instructions = ma.fields.String()
    prompts = ma.fields.List(ma.fields.String())
    due_on = ma.fields.Date(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(EXERCISE_STATUSES)})
    counselor = ma.fields.Nested(PersonSchema, allow_none=True)
    checkin_id = ma.fields.String(allow_none=True)
    conversation_id = ma.fields.String(allow_none=True)
    parts = ma.fields.List(ma.fields.Nested(PartSchema))
    created_at = UTCDateTime()
    completed_at = UTCDateTime(allow_none=True)


class StartConversationSchema(ma.Schema):
    """Roles for the exercise's conversation."""

    EXAMPLE = {"roles": {"hurt_partner": "Jq3vX0bQ9mR2tL8wZ1kY4a"}}

    roles = DataKeyedDict(keys=ma.fields.String(), values=ma.fields.String(), required=True)


class ProgressSchema(ma.Schema):
    """How the couple is doing; counts only."""

    checkins_completed_4w = ma.fields.Integer()
    checkins_missed_4w = ma.fields.Integer()
    open_exercises = ma.fields.Integer()
    active_agreements = ma.fields.Integer()
    agreements_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    last_activity = UTCDateTime(allow_none=True)


class CoupleCardSchema(ma.Schema):
    """A linked couple."""

    id = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    timezone = ma.fields.String()
    members = ma.fields.List(ma.fields.Nested(PersonSchema))
    link = ma.fields.Nested(LinkSchema)
    progress = ma.fields.Nested(ProgressSchema)


class SharedAnswerSchema(ma.Schema):
    """A shared answer."""

    prompt = ma.fields.String()
    value = ma.fields.Raw(metadata=ANSWER_VALUE)
    visibility = ma.fields.String()


class SharedResponseSchema(ma.Schema):
    """A partner's shared answers."""

    user = ma.fields.Nested(PersonSchema)
    answers = ma.fields.List(ma.fields.Nested(SharedAnswerSchema))


class SharedCheckinSchema(ma.Schema):
    """A revealed check-in's shared answers."""

    id = ma.fields.String()
    title = ma.fields.String()
    revealed_at = UTCDateTime()
    responses = ma.fields.List(ma.fields.Nested(SharedResponseSchema))


class CoupleDetailSchema(CoupleCardSchema):
    """A linked couple within the scope the couple chose."""

    timeline = ma.fields.List(ma.fields.Nested(TimelineEventSchema))
    exercises = ma.fields.List(ma.fields.Nested(ExerciseSchema))
    trends = ma.fields.Nested(
        TrendsSchema,
        allow_none=True,
        metadata={"description": "With ?prompt=, only with scope shared_content."},
    )
    shared_checkins = ma.fields.List(
        ma.fields.Nested(SharedCheckinSchema),
        allow_none=True,
        metadata={"description": "Only with scope shared_content."},
    )
    conversations = ma.fields.List(
        ma.fields.Nested(ConversationSchema),
        allow_none=True,
        metadata={"description": "Only with scope shared_content."},
    )


class CoupleDetailArgsSchema(ma.Schema):
    """`?prompt=` for the couple's trends on a scale prompt."""

    prompt = ma.fields.String(validate=validate.Length(min=1, max=64))
