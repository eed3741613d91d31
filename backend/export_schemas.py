"""The shape of an export (each part is documented in docs/privacy-and-safety.md).

The export (`privacy.service`) gathers each domain's part, dumped by that domain's own
viewer-aware schema (`<domain>/personal_data.py`); these schemas write the document out as
given and only describe it, so a generated client gets typed parts. The description is made of
every domain's response schemas, so it lives above the domains, like `backend/access.py`,
and privacy itself imports no domain.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from backend.accounts.schemas import ActivitySchema
from backend.agreements.schemas import AgreementSchema
from backend.checkins.schemas import CheckinSchema
from backend.checkins.service import PROMPT_KINDS
from backend.conversations.schemas import ConversationSchema
from backend.counseling.schemas import ExerciseSchema, LinkSchema
from backend.couples.schemas import MemberSchema
from backend.measures.schemas import ExportMeasuresSchema
from backend.scheduling.schemas import ScheduleSchema
from backend.timeline.schemas import SubjectSchema
from backend.timeline.service import KINDS as TIMELINE_KINDS

DATE_TIME = {"format": "date-time"}


class AsBuilt(ma.fields.Nested):
    """A part the export service already built: written out unchanged, documented as `nested`."""

    def _serialize(self, nested_obj: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return nested_obj


class ExportPromptSchema(ma.Schema):
    """A prompt of a check-in, in the wording it was asked with."""

    key = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(PROMPT_KINDS)})
    text = ma.fields.String()
    revision = ma.fields.Integer()


class ExportCheckinSchema(CheckinSchema):
    """A check-in as GET /checkins/{id} shows it to you, its prompts by their wording."""

    prompts = ma.fields.List(AsBuilt(ExportPromptSchema))

    class Meta:
        exclude = ("safety_notice",)


class ExportAgreementSchema(AgreementSchema):
    """An agreement as GET /agreements/{id} shows it to you."""

    class Meta:
        exclude = ("safety_notice", "etag")


class ExportConversationSchema(ConversationSchema):
    """A conversation as GET /conversations/{id} shows it to you."""

    class Meta:
        exclude = ("safety_notice",)


class ExportAccountSchema(ma.Schema):
    """Your account."""

    id = ma.fields.String()
    email = ma.fields.String()
    display_name = ma.fields.String()
    former_display_names = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Names you had in couples that ended (kept for erasure)."},
    )
    role = ma.fields.String()
    timezone = ma.fields.String()
    discreet_notifications = ma.fields.Boolean()
    created_at = ma.fields.String(metadata=DATE_TIME)
    password_changed_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)


class ExportTimelineEventSchema(ma.Schema):
    """An event of a couple's timeline."""

    kind = ma.fields.String(metadata={"enum": list(TIMELINE_KINDS)})
    occurred_at = ma.fields.String(metadata=DATE_TIME)
    summary = ma.fields.String()
    subject = AsBuilt(SubjectSchema, allow_none=True)


class ExportCoupleSchema(ma.Schema):
    """A couple you were in, with what it holds as you may see it."""

    id = ma.fields.String()
    status = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    timezone = ma.fields.String()
    created_at = ma.fields.String(metadata=DATE_TIME)
    ended_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)
    members = ma.fields.List(AsBuilt(MemberSchema))
    checkins = ma.fields.List(
        AsBuilt(ExportCheckinSchema),
        metadata={"description": "Your answers, and your partner's shared ones once revealed."},
    )
    schedules = ma.fields.List(AsBuilt(ScheduleSchema))
    agreements = ma.fields.List(AsBuilt(ExportAgreementSchema))
    conversations = ma.fields.List(AsBuilt(ExportConversationSchema))
    exercises = ma.fields.List(AsBuilt(ExerciseSchema))
    counselor_links = ma.fields.List(AsBuilt(LinkSchema))
    timeline = ma.fields.List(AsBuilt(ExportTimelineEventSchema))


class ExportJournalEntrySchema(ma.Schema):
    """A journal entry."""

    id = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    text = ma.fields.String()
    created_at = ma.fields.String(metadata=DATE_TIME)


class ExportNotificationSchema(ma.Schema):
    """A notification you received."""

    id = ma.fields.String()
    kind = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    created_at = ma.fields.String(metadata=DATE_TIME)
    read_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)


class ExportDeviceSchema(ma.Schema):
    """A device that received your pushes, with its push token."""

    id = ma.fields.String()
    platform = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    token = ma.fields.String()
    created_at = ma.fields.String(metadata=DATE_TIME)
    last_used_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)


class ExportCalendarFeedSchema(ma.Schema):
    """A calendar feed of yours that still works (its address is never kept in a readable form)."""

    id = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(metadata=DATE_TIME)
    last_fetched_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)


class ExportSessionSchema(ma.Schema):
    """A sign-in of yours, live or ended."""

    id = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    created_at = ma.fields.String(metadata=DATE_TIME)
    last_used_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)
    expires_at = ma.fields.String(metadata=DATE_TIME)
    revoked_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)


class ExportSafetyCheckSchema(ma.Schema):
    """Your safety check answers."""

    answers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    completed_at = ma.fields.String(allow_none=True, metadata=DATE_TIME)


class ExportSchema(ma.Schema):
    """Everything Trustline holds about you. Instants are UTC, ending in Z."""

    exported_at = ma.fields.String(metadata=DATE_TIME)
    account = AsBuilt(ExportAccountSchema)
    couples = ma.fields.List(
        AsBuilt(ExportCoupleSchema),
        metadata={
            "description": "Each couple you were in, with its check-ins (your answers, and your "
            "partner's shared ones once revealed), schedules, agreements, conversations, "
            "exercises, counselor links and timeline."
        },
    )
    journal = ma.fields.List(AsBuilt(ExportJournalEntrySchema))
    notifications = ma.fields.List(AsBuilt(ExportNotificationSchema))
    devices = ma.fields.List(AsBuilt(ExportDeviceSchema))
    sessions = ma.fields.List(AsBuilt(ExportSessionSchema))
    activity = ma.fields.List(
        AsBuilt(ActivitySchema),
        metadata={
            "description": "Your account's activity of the last 90 days, oldest first, as "
            "GET /me/activity shows it."
        },
    )
    calendar_feeds = ma.fields.List(AsBuilt(ExportCalendarFeedSchema))
    safety_check = AsBuilt(ExportSafetyCheckSchema, allow_none=True)
    measures = AsBuilt(
        ExportMeasuresSchema,
        metadata={
            "description": "Your questionnaire responses (answers, scores, bands), your sharing "
            "choices, and, for a counselor, the questionnaires you wrote."
        },
    )
