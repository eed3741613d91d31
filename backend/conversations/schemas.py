"""Request and response shapes of guided conversations."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from backend.accounts.schemas import PersonSchema
from backend.conversations import library
from backend.conversations.models import STATUSES
from backend.conversations.service import DEFAULT_PAUSE_MINUTES, MAX_PAUSE_MINUTES
from backend.fields import DataKeyedDict, Trimmed, UTCDateTime
from backend.pagination import PageArgsSchema
from backend.safety.schemas import SafetyNoticeSchema

# The roles come from the templates (backend/content/conversations.yaml), with the former keys
# some templates still accept (hurt_partner, involved_partner in the trigger template).
ROLES = library.role_keys()
WRITERS = (*ROLES, *library.SHARED_WRITERS)


class StepTemplateSchema(ma.Schema):
    """A step of a template."""

    key = ma.fields.String()
    title = ma.fields.String()
    guidance = ma.fields.String()
    prompts = ma.fields.List(ma.fields.String())
    writers = ma.fields.String(metadata={"enum": list(WRITERS)})
    # Settings of some steps only, as the template file gives them.
    swap_roles_after = ma.fields.Boolean(metadata={"optional": True})
    asks_the_other = ma.fields.Boolean(
        metadata={
            "description": "This step asks the other partner; the next step answers.",
            "optional": True,
        }
    )
    links_to = ma.fields.String(allow_none=True, metadata={"optional": True})


class TemplateSchema(ma.Schema):
    """A conversation template."""

    key = ma.fields.String()
    title = ma.fields.String()
    summary = ma.fields.String()
    source = ma.fields.String(metadata={"description": "Where the structure comes from."})
    before_you_start = ma.fields.String()
    roles = ma.fields.List(ma.fields.String())
    role_titles = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "What each role is, in plain words."},
    )
    steps = ma.fields.List(ma.fields.Nested(StepTemplateSchema))


class ConversationCreateSchema(ma.Schema):
    """A conversation to start."""

    EXAMPLE = {
        "template": "repair_after_betrayal",
        "roles": {"hurt_partner": "Jq3vX0bQ9mR2tL8wZ1kY4a"},
    }

    template = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    roles = DataKeyedDict(
        keys=ma.fields.String(validate=validate.OneOf(ROLES)),
        values=ma.fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        metadata={
            "description": 'Which partner holds a role, e.g. {"hurt_partner": "<user id>"} '
            'or {"speaker": "<user id>"}; the other role goes to the other partner. The '
            "trigger template still accepts its former keys hurt_partner and involved_partner.",
        },
    )


class EntryCreateSchema(ma.Schema):
    """Words for the current step."""

    EXAMPLE = {"text": "What I heard you say is that the silence hurt more than the news."}

    text = Trimmed(required=True, validate=validate.Length(min=1, max=5000))


class PauseSchema(ma.Schema):
    """A time-out (the body may be left out)."""

    EXAMPLE = {"minutes": 30}

    BODY_OPTIONAL = True

    minutes = ma.fields.Integer(
        load_default=DEFAULT_PAUSE_MINUTES,
        validate=validate.Range(min=DEFAULT_PAUSE_MINUTES, max=MAX_PAUSE_MINUTES),
        metadata={"description": "At least 20 (the default), at most 1440."},
    )


class RoleSchema(ma.Schema):
    """Who holds a role now."""

    role = ma.fields.String(metadata={"enum": list(ROLES)})
    user = ma.fields.Nested(PersonSchema)


class CurrentStepSchema(ma.Schema):
    """The step the conversation is at."""

    index = ma.fields.Integer()
    key = ma.fields.String()
    title = ma.fields.String()
    guidance = ma.fields.String()
    prompts = ma.fields.List(ma.fields.String())
    writers = ma.fields.String(metadata={"enum": list(WRITERS)})
    links_to = ma.fields.String(allow_none=True)
    expected_writers = ma.fields.List(ma.fields.Nested(PersonSchema))
    still_to_write = ma.fields.List(ma.fields.Nested(PersonSchema))
    ready = ma.fields.List(ma.fields.Nested(PersonSchema))


class EntrySchema(ma.Schema):
    """What a partner wrote."""

    id = ma.fields.String()
    author = ma.fields.Nested(PersonSchema, allow_none=True)
    text = ma.fields.String()
    created_at = UTCDateTime()


class StepSchema(ma.Schema):
    """A step reached so far, with its entries."""

    index = ma.fields.Integer()
    key = ma.fields.String()
    title = ma.fields.String()
    writers = ma.fields.String()
    entries = ma.fields.List(ma.fields.Nested(EntrySchema))


class TemplateRefSchema(ma.Schema):
    """The template, as it was when the conversation started."""

    key = ma.fields.String()
    title = ma.fields.String()
    summary = ma.fields.String()
    source = ma.fields.String()
    before_you_start = ma.fields.String()


class ConversationSchema(ma.Schema):
    """A conversation: where it is, who writes, what was written."""

    id = ma.fields.String()
    template = ma.fields.Nested(TemplateRefSchema)
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    roles = ma.fields.List(ma.fields.Nested(RoleSchema))
    current_step = ma.fields.Nested(CurrentStepSchema, allow_none=True)
    steps = ma.fields.List(ma.fields.Nested(StepSchema))
    paused_until = UTCDateTime(allow_none=True)
    paused_by = ma.fields.Nested(PersonSchema, allow_none=True)
    started_at = UTCDateTime()
    completed_at = UTCDateTime(allow_none=True)
    abandoned_at = UTCDateTime(allow_none=True)
    safety_notice = ma.fields.Nested(
        SafetyNoticeSchema,
        allow_none=True,
        metadata={
            "description": "For you alone; in answers about one conversation, not in lists.",
            "optional": True,
        },
    )


class ConversationPageSchema(ma.Schema):
    """A page of conversations, newest first."""

    items = ma.fields.List(ma.fields.Nested(ConversationSchema))
    next_cursor = ma.fields.String(allow_none=True)


ConversationQueryArgsSchema = PageArgsSchema
