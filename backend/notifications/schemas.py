"""Shapes of the notification feed and devices."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.fields import StrictBoolean, Trimmed, UTCDateTime
from backend.notifications import service
from backend.notifications.models import PLATFORMS
from backend.pagination import PageArgsSchema
from backend.viewer import viewer


class FeedArgsSchema(PageArgsSchema):
    """`?unread=&limit=&cursor=`."""

    unread = ma.fields.Boolean(metadata={"description": "true: unread only; false: read only."})


class NotificationSubjectSchema(ma.Schema):
    """What a notification is about, to open it in the app."""

    type = ma.fields.String(metadata={"example": "checkin"})
    id = ma.fields.String()


class SubjectField(ma.fields.Nested):
    """A notification's `{type, id}`, or null when it is about nothing in particular."""

    def get_value(
        self, obj: Any, attr: str, accessor: Any = None, default: Any = ma.missing
    ) -> Any:
        subject_type = getattr(obj, "subject_type", None)
        return {"type": subject_type, "id": obj.subject_id} if subject_type else None


class NotificationSchema(ma.Schema):
    """A notification in the feed."""

    id = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    couple_id = ma.fields.String(allow_none=True)
    subject = SubjectField(NotificationSubjectSchema, allow_none=True)
    created_at = UTCDateTime()
    read_at = UTCDateTime(allow_none=True)


class UnreadCount(ma.fields.Integer):
    """How many of the viewer's notifications are unread, counted as the answer is written."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> int:
        return service.unread_count(user_id=viewer().id)


class FeedSchema(ma.Schema):
    """A page of notifications, newest first."""

    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    next_cursor = ma.fields.String(allow_none=True)
    unread_count = UnreadCount()


class MarkReadSchema(ma.Schema):
    """Which notifications to mark read: some ids, or all."""

    EXAMPLE = {"all": True}

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
    unread_count = UnreadCount()


class DeviceCreateSchema(ma.Schema):
    """A device that receives pushes."""

    EXAMPLE = {
        "platform": "android",
        "token": "fcm-registration-token-0123456789",
        "label": "Work phone",
    }

    platform = ma.fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    token = ma.fields.String(required=True, validate=validate.Length(min=8, max=512))
    label = Trimmed(
        validate=validate.Length(min=1, max=60, error="Use between 1 and 60 characters."),
        metadata={
            "description": 'Your own name for the device ("Work phone"), shown only to you. '
            "Left out: unchanged."
        },
    )


class DeviceSchema(ma.Schema):
    """A registered device (its push token is never shown again)."""

    id = ma.fields.String()
    platform = ma.fields.String(metadata={"enum": list(PLATFORMS)})
    label = ma.fields.String(allow_none=True)
    created_at = UTCDateTime(metadata={"description": "When it was added."})
    last_used_at = UTCDateTime(
        allow_none=True,
        metadata={
            "description": "When a notification for it was last handed to the push relay; "
            "null: never."
        },
    )


class DeviceListSchema(ma.Schema):
    """A page of the caller's devices, newest first."""

    items = ma.fields.List(ma.fields.Nested(DeviceSchema))
    next_cursor = ma.fields.String(allow_none=True)
