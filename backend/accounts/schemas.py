"""Request and response shapes of accounts."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.accounts import activity, service
from backend.accounts.activity import KINDS as ACTIVITY_KINDS
from backend.accounts.models import ROLES, AccountActivity, AuthSession
from backend.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from backend.fields import EmailAddress, StrictBoolean, TimeZoneName, Trimmed, UTCDateTime
from backend.safety import service as safety
from backend.safety.schemas import SafetyNoticeField
from backend.viewer import current_viewing, viewer

PASSWORD_RULE = validate.Length(
    min=MIN_PASSWORD_LENGTH,
    max=MAX_PASSWORD_LENGTH,
    error=f"Use between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters.",
)
DISPLAY_NAME_RULE = validate.Length(min=1, max=80, error="Use between 1 and 80 characters.")


class UserSchema(ma.Schema):
    """The caller's own account."""

    id = ma.fields.String(dump_only=True)
    email = ma.fields.Email(dump_only=True)
    display_name = ma.fields.String(dump_only=True)
    role = ma.fields.String(dump_only=True, metadata={"enum": list(ROLES)})
    timezone = ma.fields.String(dump_only=True, metadata={"example": "Europe/Berlin"})
    discreet_notifications = ma.fields.Boolean(dump_only=True)
    created_at = UTCDateTime(dump_only=True)


class SafetyCheckCompleted(ma.fields.Boolean):
    """Whether the viewer has done their private safety check (shown to them alone)."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> bool:
        return safety.check_of(viewer()) is not None


class MeSchema(UserSchema):
    """The caller's own account, with what only they should see."""

    safety_check_completed = SafetyCheckCompleted(dump_only=True)
    safety_notice = SafetyNoticeField(
        dump_only=True,
        metadata={"description": "For you alone: help and the quiet way to leave."},
    )


class PersonSchema(ma.Schema):
    """Another person as a couple sees them: an id and a name, never contact details."""

    id = ma.fields.String()
    display_name = ma.fields.String()


class RegisterSchema(ma.Schema):
    """A new account."""

    EXAMPLE = {
        "email": "alex@example.com",
        "password": "correct horse battery",
        "display_name": "Alex",
        "role": "partner",
        "client_label": "Trustline app on Android",
    }

    email = EmailAddress(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD_RULE)
    display_name = Trimmed(required=True, validate=DISPLAY_NAME_RULE)
    role = ma.fields.String(
        load_default="partner",
        validate=validate.OneOf(ROLES),
        metadata={"description": "`partner` (default) or `counselor`."},
    )
    client_label = Trimmed(
        load_default=None,
        validate=validate.Length(min=1, max=60, error="Use between 1 and 60 characters."),
        metadata={
            "description": 'How this client names itself in your sessions list ("Trustline app '
            'on Android"). Left out: described from the User-Agent header ("Safari on iPhone").'
        },
    )


class LoginSchema(ma.Schema):
    """E-mail and password, and the device token a previous login handed out."""

    EXAMPLE = {
        "email": "alex@example.com",
        "password": "correct horse battery",
        "client_label": "Trustline app on Android",
    }

    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH)
    )
    device_token = ma.fields.String(
        load_default=None,
        validate=validate.Length(max=512),
        metadata={
            "description": "The `device_token` from this device's last login. Failed attempts "
            "from a known device are counted apart, so others cannot lock you out."
        },
    )
    client_label = Trimmed(
        load_default=None,
        validate=validate.Length(min=1, max=60, error="Use between 1 and 60 characters."),
        metadata={
            "description": 'How this client names itself in your sessions list ("Trustline app '
            'on Android"). Left out: described from the User-Agent header ("Safari on iPhone").'
        },
    )


class RefreshSchema(ma.Schema):
    """A refresh token to rotate."""

    EXAMPLE = {
        "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJKcTN2In0.c2lnbmF0dXJl"
    }

    refresh_token = ma.fields.String(required=True, validate=validate.Length(min=1, max=4096))


class TokensSchema(ma.Schema):
    """Tokens for an authenticated session."""

    user = ma.fields.Nested(UserSchema)
    access_token = ma.fields.String(metadata={"description": "Lives 15 minutes."})
    refresh_token = ma.fields.String(
        metadata={"description": "Lives 30 days and works once: each refresh returns a new one."}
    )
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_in = ma.fields.Integer(metadata={"description": "Seconds the access token lives."})
    device_token = ma.fields.String(
        allow_none=True,
        metadata={"description": "Keep it on the device and send it with the next login."},
    )


class ProfileUpdateSchema(ma.Schema):
    """Changes to the caller's profile."""

    EXAMPLE = {"display_name": "Alex", "timezone": "Europe/Berlin"}

    display_name = Trimmed(validate=DISPLAY_NAME_RULE)
    timezone = TimeZoneName(metadata={"example": "Europe/Berlin"})
    discreet_notifications = StrictBoolean(
        metadata={
            "description": "On (the default): pushed text is generic, so a lock screen "
            "shows nothing about what happened."
        }
    )


class EraseSchema(ma.Schema):
    """Your password, to confirm erasing your account."""

    EXAMPLE = {"password": "correct horse battery"}

    password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH)
    )


class PasswordChangeSchema(ma.Schema):
    """The current password and the new one."""

    EXAMPLE = {
        "current_password": "correct horse battery",
        "new_password": "a longer and newer passphrase",
    }

    current_password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH)
    )
    new_password = ma.fields.String(required=True, load_only=True, validate=PASSWORD_RULE)


class SessionSchema(ma.Schema):
    """One of your live sign-ins, as only you see it."""

    id = ma.fields.String(required=True)
    description = ma.fields.String(
        required=True,
        attribute="client_description",
        metadata={
            "description": 'The device as it described itself at sign-in ("Safari on iPhone", '
            '"Trustline app on Android"). A device can describe itself falsely: when and how '
            "often it was used say more."
        },
    )
    created_at = UTCDateTime(required=True, metadata={"description": "When it signed in."})
    last_used_at = UTCDateTime(
        required=True, metadata={"description": "Its last request (to the minute)."}
    )
    is_current = ma.fields.Boolean(
        required=True, metadata={"description": "Whether this is the sign-in asking."}
    )
    is_fresh = ma.fields.Boolean(
        required=True,
        metadata={
            "description": "Whether it signed in with the password within the last 5 minutes, "
            "so it can still export your data, add a push device or turn discreet "
            "notifications off."
        },
    )

    @ma.pre_dump
    def _as_listed(self, session: AuthSession, **kwargs: object) -> dict[str, object]:
        # "This device" is the sign-in the viewer asks from.
        return {
            "id": session.id,
            "client_description": session.client_description or service.UNKNOWN_DEVICE,
            "created_at": session.created_at,
            "last_used_at": session.last_used_at or session.created_at,
            "is_current": session.id == current_viewing().get("session_id"),
            "is_fresh": service.is_fresh(session),
        }


class SessionListSchema(ma.Schema):
    """A page of your live sign-ins, newest first."""

    items = ma.fields.List(ma.fields.Nested(SessionSchema), required=True)
    next_cursor = ma.fields.String(required=True, allow_none=True)


class SessionsEndedSchema(ma.Schema):
    """How many sign-ins were ended."""

    ended = ma.fields.Integer(required=True)


class ActivitySessionSchema(ma.Schema):
    """The sign-in an event came from."""

    id = ma.fields.String(required=True)
    description = ma.fields.String(required=True, metadata={"example": "Safari on iPhone"})
    is_current = ma.fields.Boolean(
        required=True, metadata={"description": "Whether it is the sign-in asking."}
    )


class ActivitySchema(ma.Schema):
    """Something that changed in your account: what, when, and from which sign-in."""

    id = ma.fields.String(required=True)
    kind = ma.fields.String(required=True, metadata={"enum": list(ACTIVITY_KINDS)})
    at = UTCDateTime(required=True)
    summary = ma.fields.String(
        required=True, metadata={"example": "New sign-in on Safari on iPhone."}
    )
    session = ma.fields.Nested(
        ActivitySessionSchema,
        required=True,
        allow_none=True,
        metadata={
            "description": "null: no sign-in did it (a failed sign-in, a refresh token used twice)."
        },
    )
    details = ma.fields.Dict(
        required=True,
        metadata={
            "description": "Ids, kinds and counts of the event (never personal content): "
            "`ended_session_id`, `ended_session`, `reason`, `devices_removed` of "
            "`session_ended`; `attempts`, `last_attempt_at` of `sign_in_failed`; `platform`, "
            "`device_id` of device events; `fields` of `profile_changed`; "
            "`counselor_link_id` and `feed_id` of those."
        },
    )

    @ma.pre_dump
    def _as_told(self, event: AccountActivity, **kwargs: object) -> dict[str, object]:
        """The event in plain words, its sign-in seen from the viewer's own ("this device")."""
        details = dict(event.details or {})
        if event.kind == "sign_in_failed":
            details = {
                "attempts": event.count,
                "last_attempt_at": UTCDateTime()._serialize(event.updated_at, None, None),
            }
        current_session_id = current_viewing().get("session_id")
        return {
            "id": event.id,
            "kind": event.kind,
            "at": event.created_at,
            "summary": activity.SUMMARIES[event.kind](event, details),
            "session": (
                {
                    "id": event.session_id,
                    "description": event.session_description or "Unknown device",
                    "is_current": event.session_id == current_session_id,
                }
                if event.session_id
                else None
            ),
            "details": details,
        }


class ActivityListSchema(ma.Schema):
    """A page of your account's activity, newest first."""

    items = ma.fields.List(ma.fields.Nested(ActivitySchema), required=True)
    next_cursor = ma.fields.String(required=True, allow_none=True)
