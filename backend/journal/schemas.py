"""Shapes of the private journal."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.fields import Trimmed, UTCDateTime
from backend.pagination import PageArgsSchema
from backend.safety.schemas import SafetyNoticeField


class JournalCreateSchema(ma.Schema):
    """A new entry."""

    EXAMPLE = {"title": "After our talk", "text": "I felt calmer than I expected."}

    title = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=120))
    text = Trimmed(required=True, validate=validate.Length(min=1, max=10_000))


class JournalUpdateSchema(ma.Schema):
    """Changes to an entry."""

    EXAMPLE = {"text": "I felt calmer than I expected, and a little hopeful."}

    title = Trimmed(allow_none=True, validate=validate.Length(max=120))
    text = Trimmed(validate=validate.Length(min=1, max=10_000))


class JournalEntrySchema(ma.Schema):
    """An entry of your private journal."""

    id = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    text = ma.fields.String()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    safety_notice = SafetyNoticeField()


class JournalPageSchema(ma.Schema):
    """A page of entries, newest first."""

    items = ma.fields.List(ma.fields.Nested(JournalEntrySchema))
    next_cursor = ma.fields.String(allow_none=True)


JournalQueryArgsSchema = PageArgsSchema
