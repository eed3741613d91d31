"""Request and response shapes of accounts."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.accounts.models import ROLES
from backend.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from backend.fields import EmailAddress, StrictBoolean, TimeZoneName, Trimmed, UTCDateTime
from backend.safety.schemas import SafetyNoticeSchema

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


class MeSchema(UserSchema):
    """The caller's own account, with what only they should see."""

    safety_check_completed = ma.fields.Boolean(dump_only=True)
    safety_notice = ma.fields.Nested(
        SafetyNoticeSchema,
        dump_only=True,
        allow_none=True,
        metadata={"description": "For you alone: help and the quiet way to leave."},
    )


class PersonSchema(ma.Schema):
    """Another person as a couple sees them: an id and a name, never contact details."""

    id = ma.fields.String()
    display_name = ma.fields.String()


class RegisterSchema(ma.Schema):
    """A new account."""

    email = EmailAddress(required=True, validate=validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=PASSWORD_RULE)
    display_name = Trimmed(required=True, validate=DISPLAY_NAME_RULE)
    role = ma.fields.String(
        load_default="partner",
        validate=validate.OneOf(ROLES),
        metadata={"description": "`partner` (default) or `counselor`."},
    )


class LoginSchema(ma.Schema):
    """E-mail and password, and the device token a previous login handed out."""

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


class RefreshSchema(ma.Schema):
    """A refresh token to rotate."""

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

    password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH)
    )


class PasswordChangeSchema(ma.Schema):
    """The current password and the new one."""

    current_password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=MAX_PASSWORD_LENGTH)
    )
    new_password = ma.fields.String(required=True, load_only=True, validate=PASSWORD_RULE)
