"""Request and response shapes of transparency agreements."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.accounts.schemas import PersonSchema
from backend.agreements import library, service
from backend.agreements.models import (
    CATEGORIES,
    STATUSES,
    VERSION_STATUSES,
    Agreement,
    AgreementItem,
    AgreementVersion,
)
from backend.couples import service as couples
from backend.fields import Trimmed, UTCDateTime
from backend.pagination import PageArgsSchema
from backend.safety.schemas import SafetyNoticeField, WithoutNotice
from backend.viewer import viewer

APPLIES_TO = ("both", "me", "partner")
# A person named as the couple's views name them: {id, display_name}, None for nobody.
Person = couples.Person


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
    safety_notice = SafetyNoticeField(
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

    @ma.pre_dump
    def _as_the_viewer_sees_it(self, agreement: Agreement, **kwargs: Any) -> dict[str, Any]:
        # The ETag in the body too: generated clients expose no response header to send back.
        return {**seen_agreement(agreement, viewer().id), "etag": service.etag(agreement)}


class AgreementPageSchema(ma.Schema):
    """A page of agreements, newest first."""

    items = ma.fields.List(WithoutNotice(AgreementSchema))
    next_cursor = ma.fields.String(allow_none=True)


def _applies_to(binds: list[str], viewer_id: str) -> str:
    """Who an item binds, seen from the viewer: both, me or partner."""
    if len(set(binds)) > 1:
        return "both"
    return "me" if binds == [viewer_id] else "partner"


def _item(item: AgreementItem, person: Person, viewer_id: str) -> dict[str, Any]:
    return {
        "category": item.category,
        "text": item.text,
        "applies_to": _applies_to(item.binds, viewer_id),
        "binds": [person(uid) for uid in item.binds],
        "review_on": item.review_on,
    }


def _version(
    version: AgreementVersion | None, person: Person, viewer_id: str
) -> dict[str, Any] | None:
    if version is None:
        return None
    return {
        "number": version.number,
        "title": version.title,
        "status": version.status,
        "ends_on": version.ends_on,
        "review_on": version.review_on,
        "proposed_by": person(version.proposed_by_id),
        "proposed_at": version.proposed_at,
        "activated_at": version.activated_at,
        "consents": [
            {"user": person(c.user_id), "consented_at": c.consented_at} for c in version.consents
        ],
        "items": [_item(item, person, viewer_id) for item in version.items],
    }


def seen_agreement(agreement: Agreement, viewer_id: str) -> dict[str, Any]:
    """The agreement as `viewer_id` sees it (`AgreementSchema`'s fields but the notice and the
    ETag): whom each item binds is said from their side, each person by the couple's name."""
    couple = couples.couple_by_id(agreement.couple_id)
    person = couples.people_of(couple)
    current = agreement.current
    kind = service.reciprocity(current, couple)
    return {
        "id": agreement.id,
        "status": agreement.status,
        "title": current.title,
        "ends_on": current.ends_on,
        "review_on": current.review_on,
        "reciprocity": kind,
        "guidance": library.guidance(kind),
        "active_version": _version(agreement.active_version, person, viewer_id),
        "pending_proposal": _version(agreement.pending_proposal, person, viewer_id),
        "versions": [_version(v, person, viewer_id) for v in agreement.versions],
        "withdrawn_by": person(agreement.withdrawn_by_id),
        "withdrawn_at": agreement.withdrawn_at,
        "withdraw_reason": agreement.withdraw_reason,
        "ended_at": agreement.ended_at,
        "created_at": agreement.created_at,
        "updated_at": agreement.updated_at,
    }


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
