"""Request and response shapes of check-ins and the prompt library.

A check-in's answer is viewer-aware: the route returns the `Checkin`, and the fields that
depend on who reads it (`i_submitted`, `my_response`, `partner`, ...) ask the service's one
visibility rule for the viewer set by the access decorator (`backend.viewer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.checkins import service
from backend.checkins.models import CHECKIN_SOURCES, CHECKIN_STATUSES, PROMPT_KINDS, VISIBILITIES
from backend.fields import StrictBoolean, UTCDateTime
from backend.pagination import PageArgsSchema
from backend.safety.schemas import SafetyNoticeField
from backend.viewer import viewer

# An answer's value by prompt kind: scale an integer, choice and text a string, multi_choice a
# list of option values. Written out so generated clients get a union, not "any".
ANSWER_VALUE = {
    "anyOf": [
        {"type": "integer"},
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
    ]
}


class OptionSchema(ma.Schema):
    """A choice."""

    value = ma.fields.String()
    label = ma.fields.String()


class PromptSchema(ma.Schema):
    """A prompt, in the wording given (a check-in keeps the wording it was opened with)."""

    key = ma.fields.String(metadata={"example": "felt_safe_week"})
    category = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(PROMPT_KINDS)})
    revision = ma.fields.Integer()
    text = ma.fields.String()
    help = ma.fields.String(allow_none=True)
    # Each kind has its own settings; a prompt carries only those of its kind.
    min = ma.fields.Integer(
        attribute="config.min", metadata={"description": "scale only", "optional": True}
    )
    max = ma.fields.Integer(
        attribute="config.max", metadata={"description": "scale only", "optional": True}
    )
    min_label = ma.fields.String(
        attribute="config.min_label", metadata={"description": "scale only", "optional": True}
    )
    max_label = ma.fields.String(
        attribute="config.max_label", metadata={"description": "scale only", "optional": True}
    )
    options = ma.fields.List(
        ma.fields.Nested(OptionSchema),
        attribute="config.options",
        metadata={"description": "choice and multi_choice", "optional": True},
    )
    max_choices = ma.fields.Integer(
        attribute="config.max_choices",
        metadata={"description": "multi_choice only", "optional": True},
    )
    max_length = ma.fields.Integer(
        attribute="config.max_length", metadata={"description": "text only", "optional": True}
    )
    default_visibility = ma.fields.String(
        attribute="config.default_visibility",
        dump_default="shared",
        metadata={
            "enum": list(VISIBILITIES),
            "description": "The visibility an answer takes when its author doesn't choose one.",
        },
    )


class PromptQueryArgsSchema(ma.Schema):
    """`?category=`."""

    category = ma.fields.String(validate=validate.Length(max=64))


class PromptSetSchema(ma.Schema):
    """A set of prompts answered together."""

    key = ma.fields.String(metadata={"example": "weekly_trust_checkin"})
    title = ma.fields.String()
    description = ma.fields.String()
    suggested_frequency = ma.fields.String()
    prompts = ma.fields.Method(
        "prompt_keys", metadata={"type": "array", "items": {"type": "string"}}
    )

    def prompt_keys(self, prompt_set: Any) -> list[str]:
        """The keys of the set's prompts, in order."""
        return [item.prompt.key for item in prompt_set.items]


class CheckinCreateSchema(ma.Schema):
    """Which prompt set to answer now."""

    EXAMPLE = {"prompt_set": "daily_pulse"}

    prompt_set = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=64), metadata={"example": "daily_pulse"}
    )


class AnswerInSchema(ma.Schema):
    """My answer to one prompt."""

    prompt = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    value = ma.fields.Raw(
        required=True,
        allow_none=False,
        metadata={
            **ANSWER_VALUE,
            "description": "scale: integer in range; choice: an option value; multi_choice: a "
            "list of option values; text: a string",
        },
    )
    visibility = ma.fields.String(
        validate=validate.OneOf(VISIBILITIES),
        metadata={
            "description": "`private` answers are returned to you alone. Left out: the "
            "prompt's `default_visibility`."
        },
    )


class AnswersPutSchema(ma.Schema):
    """All my answers to a check-in (replacing earlier ones), and whether they are final."""

    EXAMPLE = {
        "answers": [{"prompt": "felt_safe_week", "value": 7, "visibility": "shared"}],
        "submit": True,
    }

    answers = ma.fields.List(
        ma.fields.Nested(AnswerInSchema), required=True, validate=validate.Length(max=50)
    )
    submit = StrictBoolean(
        load_default=False,
        metadata={"description": "Final: no more changes; revealed once both have submitted."},
    )


class _ForViewer(ma.fields.Field):
    """A field whose value depends on who reads it: `of(obj, viewer_id)` gives it.

    Mixed into a concrete field class (`_ViewerBoolean`, `_ViewerNested`), so that the
    generated spec still reads the field's own type.
    """

    def __init__(self, *args: Any, of: Callable[[Any, str], Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.of = of

    def get_value(
        self,
        obj: Any,
        attr: str,
        accessor: Callable[..., Any] | None = None,
        default: Any = ma.missing,
    ) -> Any:
        return self.of(obj, viewer().id)


class _ViewerBoolean(_ForViewer, ma.fields.Boolean):
    """A boolean worked out for the viewer."""


class _ViewerNested(_ForViewer, ma.fields.Nested):
    """A nested object worked out for the viewer."""


class AnswerOutSchema(ma.Schema):
    """An answer as the viewer may see it."""

    prompt = ma.fields.String(attribute="prompt.key")
    value = ma.fields.Raw(metadata=ANSWER_VALUE)
    visibility = ma.fields.String(metadata={"enum": list(VISIBILITIES)})


class MyResponseSchema(ma.Schema):
    """My own answers, private ones included."""

    submitted_at = UTCDateTime(allow_none=True)
    answers = ma.fields.List(ma.fields.Nested(AnswerOutSchema))


class PartnerResponseSchema(ma.Schema):
    """My partner: whether they answered; their shared answers once revealed."""

    id = ma.fields.String(attribute="user_id")
    display_name = ma.fields.String()
    submitted = ma.fields.Boolean()
    answers = ma.fields.List(
        ma.fields.Nested(AnswerOutSchema),
        allow_none=True,
        metadata={"description": "null until the check-in is revealed; shared answers only"},
    )


class CheckinSummarySchema(ma.Schema):
    """A check-in in a list."""

    id = ma.fields.String()
    title = ma.fields.String()
    prompt_set = ma.fields.String(attribute="prompt_set_key")
    source = ma.fields.String(metadata={"enum": list(CHECKIN_SOURCES)})
    status = ma.fields.String(metadata={"enum": list(CHECKIN_STATUSES)})
    opened_at = UTCDateTime()
    closes_at = UTCDateTime()
    revealed_at = UTCDateTime(allow_none=True)
    i_submitted = _ViewerBoolean(
        of=lambda checkin, me: service.has_submitted(checkin.response_of(me))
    )
    partner_submitted = _ViewerBoolean(
        of=lambda checkin, me: service.has_submitted(checkin.other_response(me))
    )


class CheckinSchema(CheckinSummarySchema):
    """A check-in with its prompts and the answers the viewer may see."""

    prompts = ma.fields.List(ma.fields.Nested(PromptSchema))
    # Mine: every answer I gave; my partner's: shared ones, once both submitted.
    my_response = _ViewerNested(MyResponseSchema, of=service.my_response)
    partner = _ViewerNested(PartnerResponseSchema, allow_none=True, of=service.partner_response)
    safety_notice = SafetyNoticeField(
        only_when_noted=True,
        metadata={
            "description": "For you alone; only in the answer to saving your answers.",
            "optional": True,
        },
    )


class CheckinQueryArgsSchema(PageArgsSchema):
    """`?status=&limit=&cursor=`."""

    status = ma.fields.String(validate=validate.OneOf(CHECKIN_STATUSES))


class CheckinPageSchema(ma.Schema):
    """A page of check-ins, newest first."""

    items = ma.fields.List(ma.fields.Nested(CheckinSummarySchema))
    next_cursor = ma.fields.String(allow_none=True)


class TrendQueryArgsSchema(ma.Schema):
    """`?prompt=&since=`."""

    prompt = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    since = UTCDateTime(metadata={"description": "Only check-ins opened at or after this."})


class TrendPointSchema(ma.Schema):
    """One rating."""

    checkin_id = ma.fields.String()
    at = UTCDateTime(metadata={"description": "When the check-in opened."})
    value = ma.fields.Integer()


class TrendSeriesSchema(ma.Schema):
    """One partner's ratings."""

    user_id = ma.fields.String()
    display_name = ma.fields.String()
    is_me = ma.fields.Boolean()
    points = ma.fields.List(ma.fields.Nested(TrendPointSchema))


class TrendsSchema(ma.Schema):
    """Ratings over time, per partner."""

    prompt = ma.fields.Nested(PromptSchema)
    series = ma.fields.List(ma.fields.Nested(TrendSeriesSchema))
