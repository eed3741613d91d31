"""Request and response shapes of transparency agreements."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.accounts.schemas import PersonSchema
from backend.agreements.models import CATEGORIES, STATUSES, VERSION_STATUSES
from backend.fields import Trimmed, UTCDateTime
from backend.pagination import PageArgsSchema
from backend.safety.schemas import SafetyNoticeSchema

APPLIES_TO = ("both", "me", "partner")


class ItemInSchema(ma.Schema):
    """One commitment."""

    category = ma.fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    text = Trimmed(required=True, validate=validate.Length(min=1, max=500))
    applies_to = ma.fields.String(
        load_default="both",
        validate=validate.OneOf(APPLIES_TO),
        metadata={"description": "Who it binds, seen from you: both (default), me, partner."},
    )
    review_on = ma.fields.Date(allow_none=True)


class AgreementCreateSchema(ma.Schema):
    """A new agreement (version 1, proposed by you)."""

    EXAMPLE = {
        "title": "Evenings and phones",
        "items": [
            {
                "category": "plans",
                "text": "We tell each other when plans for the evening change.",
                "applies_to": "both",
            },
            {
                "category": "devices",
                "text": "Phones stay face down at dinner.",
                "applies_to": "both",
            },
        ],
    }

    title = Trimmed(required=True, validate=validate.Length(min=1, max=120))
    items = ma.fields.List(
        ma.fields.Nested(ItemInSchema), required=True, validate=validate.Length(min=1, max=30)
    )
    review_on = ma.fields.Date(allow_none=True, metadata={"description": "A date to review it."})
    ends_on = ma.fields.Date(
        metadata={"description": "At most six months ahead; 90 days from today by default."}
    )


class VersionCreateSchema(ma.Schema):
    """An amendment or counter-proposal (needs If-Match)."""

    EXAMPLE = {
        "items": [
            {
                "category": "plans",
                "text": "We tell each other when plans for the evening change, by message.",
                "applies_to": "both",
            }
        ]
    }

    title = Trimmed(validate=validate.Length(min=1, max=120))
    items = ma.fields.List(
        ma.fields.Nested(ItemInSchema), required=True, validate=validate.Length(min=1, max=30)
    )
    review_on = ma.fields.Date(allow_none=True)
    ends_on = ma.fields.Date()


class ConsentSchema(ma.Schema):
    """The exact version you agree to."""

    EXAMPLE = {"version": 2}

    version = ma.fields.Integer(required=True, validate=validate.Range(min=1))


class WithdrawSchema(ma.Schema):
    """Withdrawing needs no reason (the body may be left out)."""

    EXAMPLE = {"reason": "I need to step back for now."}

    BODY_OPTIONAL = True

    reason = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ItemSchema(ma.Schema):
    """A commitment."""

    category = ma.fields.String(metadata={"enum": list(CATEGORIES)})
    text = ma.fields.String()
    applies_to = ma.fields.String(metadata={"enum": list(APPLIES_TO)})
    binds = ma.fields.List(ma.fields.Nested(PersonSchema))
    review_on = ma.fields.Date(allow_none=True)


class ConsentOutSchema(ma.Schema):
    """Who agreed, when."""

    user = ma.fields.Nested(PersonSchema)
    consented_at = UTCDateTime()


class VersionSchema(ma.Schema):
    """One version."""

    number = ma.fields.Integer()
    title = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(VERSION_STATUSES)})
    ends_on = ma.fields.Date()
    review_on = ma.fields.Date(allow_none=True)
    proposed_by = ma.fields.Nested(PersonSchema, allow_none=True)
    proposed_at = UTCDateTime()
    activated_at = UTCDateTime(allow_none=True)
    consents = ma.fields.List(ma.fields.Nested(ConsentOutSchema))
    items = ma.fields.List(ma.fields.Nested(ItemSchema))


class AgreementSchema(ma.Schema):
    """An agreement with its versions and consents."""

    id = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    title = ma.fields.String()
    ends_on = ma.fields.Date()
    review_on = ma.fields.Date(allow_none=True)
    reciprocity = ma.fields.String(metadata={"enum": ["mutual", "one_sided"]})
    guidance = ma.fields.String(
        metadata={"description": "On telling transparency offered freely from control."}
    )
    active_version = ma.fields.Nested(VersionSchema, allow_none=True)
    pending_proposal = ma.fields.Nested(VersionSchema, allow_none=True)
    versions = ma.fields.List(ma.fields.Nested(VersionSchema))
    withdrawn_by = ma.fields.Nested(PersonSchema, allow_none=True)
    withdrawn_at = UTCDateTime(allow_none=True)
    withdraw_reason = ma.fields.String(allow_none=True)
    ended_at = UTCDateTime(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    safety_notice = ma.fields.Nested(
        SafetyNoticeSchema,
        allow_none=True,
        metadata={
            "description": "For you alone; in answers about one agreement, not in lists.",
            "optional": True,
        },
    )
    etag = ma.fields.String(
        metadata={
            "description": "The agreement's version for If-Match, equal to the ETag header "
            "(generated clients don't expose response headers).",
            "example": '"ag_5fQx2.3"',
        }
    )


class AgreementPageSchema(ma.Schema):
    """A page of agreements, newest first."""

    items = ma.fields.List(ma.fields.Nested(AgreementSchema))
    next_cursor = ma.fields.String(allow_none=True)


class SuggestionQueryArgsSchema(ma.Schema):
    """`?category=`."""

    category = ma.fields.String(validate=validate.OneOf(CATEGORIES))


class SuggestionSchema(ma.Schema):
    """A suggested commitment, written as a mutual one."""

    key = ma.fields.String()
    category = ma.fields.String(metadata={"enum": list(CATEGORIES)})
    text = ma.fields.String()
    applies_to = ma.fields.String(metadata={"enum": list(APPLIES_TO)})
    note = ma.fields.String(allow_none=True, metadata={"optional": True})


class CategorySchema(ma.Schema):
    """A category of commitments."""

    key = ma.fields.String(metadata={"enum": list(CATEGORIES)})
    title = ma.fields.String()
    description = ma.fields.String()


class SuggestionsSchema(ma.Schema):
    """Suggestions with the guidance on transparency versus control."""

    about = ma.fields.String()
    guidance = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    categories = ma.fields.List(ma.fields.Nested(CategorySchema))
    suggestions = ma.fields.List(ma.fields.Nested(SuggestionSchema))


AgreementQueryArgsSchema = PageArgsSchema
