"""Shapes of the safety resources, the safety check and the safety notice."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.fields import UTCDateTime
from backend.safety.service import ANSWERS


class ResourceSchema(ma.Schema):
    """A help line or service."""

    key = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String()
    region = ma.fields.String()
    phone = ma.fields.String(allow_none=True)
    url = ma.fields.String(allow_none=True)


class ResourcesSchema(ma.Schema):
    """Guidance and help lines."""

    note = ma.fields.String(
        metadata={"description": "Couples exercises are not advised where there is fear."}
    )
    quiet_exit = ma.fields.String(metadata={"description": "How to leave quietly."})
    resources = ma.fields.List(ma.fields.Nested(ResourceSchema))


class SafetyNoticeSchema(ma.Schema):
    """Shown to one person only, never to anyone else."""

    reason = ma.fields.String(metadata={"enum": ["check", "words", "offer"]})
    message = ma.fields.String()
    note = ma.fields.String()
    quiet_exit = ma.fields.String()
    resources = ma.fields.List(ma.fields.Nested(ResourceSchema))


class QuestionSchema(ma.Schema):
    """A safety question."""

    key = ma.fields.String()
    text = ma.fields.String()
    answers = ma.fields.List(ma.fields.String())


class SafetyCheckSchema(ma.Schema):
    """Your private safety check."""

    intro = ma.fields.String()
    questions = ma.fields.List(ma.fields.Nested(QuestionSchema))
    answers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    completed_at = UTCDateTime(allow_none=True)
    concern = ma.fields.Boolean(allow_none=True)
    result = ma.fields.String(allow_none=True)
    safety_notice = ma.fields.Nested(SafetyNoticeSchema, allow_none=True)


class SafetyCheckAnswersSchema(ma.Schema):
    """Your answers: yes, no or unsure to each question."""

    answers = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.Length(min=1, max=64)),
        values=ma.fields.String(validate=validate.OneOf(ANSWERS)),
        required=True,
    )
