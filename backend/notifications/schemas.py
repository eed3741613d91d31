"""Shapes of the notification feed and devices."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.fields import StrictBoolean, UTCDateTime
from backend.notifications.models import PLATFORMS
from backend.pagination import PageArgsSchema


class FeedArgsSchema(PageArgsSchema):
    """`?unread=&limit=&cursor=`."""

    unread = ma.fields.Boolean(metadata={"description": "true: unread only; false: read only."})


class SubjectSchema(ma.Schema):
    """What a notification is about, to open it in the app."""

    type = ma.fields.String()
    id = ma.fields.String()


class NotificationSchema(ma.Schema):
    """A notification in the feed."""

    id = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    couple_id = ma.fields.String(allow_none=True)
    subject = ma.fields.Method("dump_subject", metadata={"type": "object", "nullable": True})
    created_at = UTCDateTime()
    read_at = UTCDateTime(allow_none=True)

    def dump_subject(self, notification: object) -> dict | None:
        """`{type, id}` or null."""
        subject_type = getattr(notification, "subject_type", None)
        return (
            {"type": subject_type, "id": notification.subject_id}  # type: ignore[attr-defined]
            if subject_type
            else None
        )


class FeedSchema(ma.Schema):
    """A page of notifications, newest first."""

    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    next_cursor = ma.fields.String(allow_none=True)
    unread_count = ma.fields.Integer()


class MarkReadSchema(ma.Schema):
    """Which notifications to mark read: some ids, or all."""

    ids = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=64)),
        validate=validate.Length(max=200),
    )
    all = StrictBoolean(load_default=False)

    @ma.validates_schema
    def one_of(self, data: dict, **_: object) -> None:
        """Either ids or all."""
        if not data.get("all") and not data.get("ids"):
            raise ma.ValidationError("Give ids, or all: true.", field_name="ids")


class MarkedSchema(ma.Schema):
    """How many were marked read."""

    marked = ma.fields.Integer()
    unread_count = ma.fields.Integer()


class DeviceCreateSchema(ma.Schema):
    """A device that receives pushes."""

    platform = ma.fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    token = ma.fields.String(required=True, validate=validate.Length(min=8, max=512))


class DeviceSchema(ma.Schema):
    """A registered device (its push token is not echoed back)."""

    id = ma.fields.String()
    platform = ma.fields.String(metadata={"enum": list(PLATFORMS)})
    created_at = UTCDateTime()
