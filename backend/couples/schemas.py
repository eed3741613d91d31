"""Request and response shapes of couples and pairing."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.couples.models import STATUSES, CoupleMember
from backend.couples.service import name_in_couple
from backend.fields import StrictBoolean, TimeZoneName, Trimmed, UTCDateTime


class InviteSchema(ma.Schema):
    """A pairing code to give to one's partner."""

    code = ma.fields.String(metadata={"example": "K7MX3QPA", "description": "8 characters."})
    expires_at = UTCDateTime()


class AcceptInviteSchema(ma.Schema):
    """The code the partner gave."""

    EXAMPLE = {"code": "K7MX3QPA"}

    code = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={"example": "K7MX3QPA", "description": "Case and spaces do not matter."},
    )


class MemberSchema(ma.Schema):
    """A partner as the couple sees them: never their e-mail."""

    id = ma.fields.String(attribute="user_id")
    display_name = ma.fields.String()
    joined_at = UTCDateTime()

    @ma.pre_dump
    def _as_shown(self, member: CoupleMember, **kwargs: object) -> dict[str, object]:
        # The one rule for a member's name: once the couple ended, never the live profile.
        return {
            "user_id": member.user_id,
            "display_name": name_in_couple(member),
            "joined_at": member.joined_at,
        }


class CoupleSchema(ma.Schema):
    """The caller's couple."""

    id = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    timezone = ma.fields.String(metadata={"example": "Europe/Berlin"})
    name = ma.fields.String(allow_none=True)
    members = ma.fields.List(ma.fields.Nested(MemberSchema))
    created_at = UTCDateTime()
    ended_at = UTCDateTime(allow_none=True)


class CoupleUpdateSchema(ma.Schema):
    """Changes to the couple."""

    EXAMPLE = {"timezone": "Europe/Berlin", "name": "Alex & Sam"}

    timezone = TimeZoneName(metadata={"example": "Europe/Berlin"})
    name = Trimmed(allow_none=True, validate=validate.Length(max=80))


class LeaveSchema(ma.Schema):
    """How to leave (the body may be left out)."""

    EXAMPLE = {"notify_partner": False}

    BODY_OPTIONAL = True

    notify_partner = StrictBoolean(
        load_default=False,
        metadata={
            "description": "Tell the other partner now. Off by default: they learn it when "
            "they next open the app."
        },
    )
