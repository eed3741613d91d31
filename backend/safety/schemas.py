"""Shapes of the safety resources, the safety check and the safety notice."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.fields import DataKeyedDict, UTCDateTime
from backend.safety.models import SafetyCheck
from backend.safety.service import ANSWERS, notice_for, questions, result_text
from backend.viewer import current_viewing


class ResourceSchema(ma.Schema):
    """A help line or service (an operator's own list may give fewer details)."""

    key = ma.fields.String()
    kind = ma.fields.String(
        metadata={
            "description": "emergency, abuse_support, crisis, own_behaviour (for someone worried "
            "about their own behaviour), find_a_therapist (not for a crisis) or find_local.",
            "optional": True,
        }
    )
    name = ma.fields.String()
    # An operator's file (TRUSTLINE_SAFETY_RESOURCES) must give only a key and a name.
    description = ma.fields.String(metadata={"optional": True})
    region = ma.fields.String(metadata={"optional": True})
    phone = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Only a number read on the organisation's own page.",
            "optional": True,
        },
    )
    url = ma.fields.String(allow_none=True, metadata={"optional": True})
    sources = ma.fields.List(
        ma.fields.String(),
        metadata={
            "description": "The published pages the details were checked against.",
            "optional": True,
        },
    )
    checked_on = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "The day they were last checked (YYYY-MM-DD).",
            "optional": True,
        },
    )


class ResourcesSchema(ma.Schema):
    """Guidance and help lines."""

    note = ma.fields.String(
        metadata={"description": "Couples exercises are not advised where there is fear."}
    )
    quiet_exit = ma.fields.String(metadata={"description": "How to leave quietly."})
    resources = ma.fields.List(ma.fields.Nested(ResourceSchema))


class SafetyNoticeSchema(ma.Schema):
    """Shown to one person only, never to anyone else."""

    reason = ma.fields.String(metadata={"enum": ["check", "words", "offer"]})
    message = ma.fields.String()
    note = ma.fields.String()
    quiet_exit = ma.fields.String()
    resources = ma.fields.List(ma.fields.Nested(ResourceSchema))


class QuestionSchema(ma.Schema):
    """A safety question."""

    key = ma.fields.String()
    text = ma.fields.String()
    answers = ma.fields.List(ma.fields.String())


class SafetyCheckAnswersInSchema(ma.Schema):
    """Your answers: yes, no or unsure to each question."""

    EXAMPLE = {"answers": {"afraid_of_partner": "no", "made_to_share_access": "unsure"}}

    answers = DataKeyedDict(
        keys=ma.fields.String(validate=validate.Length(min=1, max=64)),
        values=ma.fields.String(validate=validate.OneOf(ANSWERS)),
        required=True,
    )


class SafetyNoticeField(ma.fields.Nested):
    """The safety notice of an answer, for its viewer alone: the one declaration every schema
    with a notice wears (`safety_notice = SafetyNoticeField(...)`).

    The notice is not an attribute of the object dumped but of who reads it and what they
    just wrote (`backend.viewer.note_written`), so it is worked out from the viewer's context,
    once per dump (a list's items share it). With `only_when_noted`, the key is there only in
    the answer to a request that called `note_written` (e.g. saving check-in answers, not
    reading the check-in).
    """

    def __init__(self, *, only_when_noted: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(SafetyNoticeSchema, **kwargs)
        self.only_when_noted = only_when_noted

    def serialize(
        self, attr: str, obj: Any, accessor: Callable[..., Any] | None = None, **kwargs: Any
    ) -> Any:
        context = current_viewing()
        if self.only_when_noted and "wrote" not in context:
            return ma.missing
        if "notice" not in context:
            read = {"check": context["safety_check"]} if "safety_check" in context else {}
            context["notice"] = notice_for(
                context["user"],
                texts=context.get("wrote", ()),
                flagged=context.get("flagged", ()),
                offer_check=context.get("offer_check", False),
                **read,
            )
        return self._serialize(context["notice"], attr, obj, **kwargs)


class SafetyCheckSchema(ma.Schema):
    """Your private safety check."""

    intro = ma.fields.String()
    questions = ma.fields.List(ma.fields.Nested(QuestionSchema))
    answers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    completed_at = UTCDateTime(allow_none=True)
    concern = ma.fields.Boolean(allow_none=True)
    result = ma.fields.String(allow_none=True)
    safety_notice = SafetyNoticeField()

    @ma.pre_dump
    def beside_the_questions(self, check: SafetyCheck | None, **kwargs: Any) -> dict[str, Any]:
        """Today's questions beside their author's answers (`check`: the viewer's own, or
        None before they take it)."""
        asked = questions()
        if check is None:
            return {**asked, "answers": {}, "completed_at": None, "concern": None, "result": None}
        keys = {question["key"] for question in asked["questions"]}
        return {
            **asked,
            # Only answers to today's questions: one retired since would only confuse.
            "answers": {k: v for k, v in check.answers.items() if k in keys},
            "completed_at": check.completed_at,
            "concern": check.concern,
            "result": result_text(check),
        }


class WithoutNotice(ma.fields.Nested):
    """An item of a list, dumped without its safety notice: the notice belongs to answers
    about one thing, not to lists (the item is documented as the schema it nests)."""

    def _serialize(self, nested_obj: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if nested_obj is None:
            return None
        return self._listed.dump(nested_obj)

    @cached_property
    def _listed(self) -> ma.Schema:
        return type(self.schema)(exclude=("safety_notice",))
