"""Request and response shapes of guided conversations."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.accounts.schemas import PersonSchema
from backend.conversations import library, service
from backend.conversations.models import STATUSES, Conversation
from backend.conversations.service import DEFAULT_PAUSE_MINUTES, MAX_PAUSE_MINUTES
from backend.couples import service as couples
from backend.fields import DataKeyedDict, Trimmed, UTCDateTime
from backend.pagination import PageArgsSchema
from backend.safety.schemas import SafetyNoticeField

# The roles come from the templates (backend/content/conversations.yaml), with the former keys
# some templates still accept (hurt_partner, involved_partner in the trigger template).
ROLES = library.role_keys()
WRITERS = (*ROLES, *library.SHARED_WRITERS)
# A person named as the couple's views name them: {id, display_name}, None for nobody.
Person = couples.Person


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
    safety_notice = SafetyNoticeField(
        metadata={
            "description": "For you alone; in answers about one conversation, not in lists.",
            "optional": True,
        },
    )

    @ma.pre_dump
    def _as_the_couple_sees_it(self, conversation: Conversation, **kwargs: Any) -> dict[str, Any]:
        return seen_conversation(conversation)


class ConversationPageSchema(ma.Schema):
    """A page of conversations, newest first."""

    items = ma.fields.List(ma.fields.Nested(ConversationSchema))
    next_cursor = ma.fields.String(allow_none=True)


def _current_step(conversation: Conversation, person: Person) -> dict[str, Any] | None:
    """The step the conversation is at, with who writes in it; None once it is finished."""
    index = conversation.current_step
    if index >= len(conversation.steps):
        return None
    step = conversation.steps[index]
    return {
        "index": index,
        "key": step["key"],
        "title": step["title"],
        "guidance": " ".join(step["guidance"].split()),
        "prompts": step["prompts"],
        "writers": step["writers"],
        "links_to": step.get("links_to"),
        "expected_writers": [person(uid) for uid in service.writers_of(conversation, index)],
        "still_to_write": [person(uid) for uid in service.still_to_write(conversation, index)],
        "ready": [person(r.user_id) for r in conversation.readiness if r.step_index == index],
    }


def _steps_so_far(conversation: Conversation, person: Person) -> list[dict[str, Any]]:
    """Every step reached so far, with what was written in it."""
    return [
        {
            "index": n,
            "key": step["key"],
            "title": step["title"],
            "writers": step["writers"],
            "entries": [
                {
                    "id": e.id,
                    "author": person(e.author_id),
                    "text": e.text,
                    "created_at": e.created_at,
                }
                for e in conversation.entries
                if e.step_index == n
            ],
        }
        for n, step in enumerate(conversation.steps)
        if n <= conversation.current_step
    ]


def seen_conversation(conversation: Conversation) -> dict[str, Any]:
    """The conversation as the couple (or a counselor they let in) sees it:
    `ConversationSchema`'s fields but the notice, each person by the couple's name."""
    person = couples.people_of(couples.couple_by_id(conversation.couple_id))
    index = conversation.current_step
    current = _current_step(conversation, person)
    roles = service.roles_at(conversation, min(index, len(conversation.steps) - 1))
    return {
        "id": conversation.id,
        "template": {
            key: conversation.template.get(key)
            for key in ("key", "title", "summary", "source", "before_you_start")
        },
        "status": conversation.status,
        "roles": [{"role": role, "user": person(uid)} for role, uid in roles.items()],
        "current_step": current,
        "steps": _steps_so_far(conversation, person),
        "paused_until": conversation.paused_until,
        "paused_by": person(conversation.paused_by_id),
        "started_at": conversation.started_at,
        "completed_at": conversation.completed_at,
        "abandoned_at": conversation.abandoned_at,
    }


ConversationQueryArgsSchema = PageArgsSchema
