"""Request and response shapes of counseling.

Routes (and the console) hand these schemas models: a link, an exercise, a `LinkedCouple`
of the service. The schemas name the people in them as the couple's views do, and show a
counselor what their link's scope lets them see, reading the viewer of the response.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import marshmallow as ma
from marshmallow import validate

from backend.accounts import service as accounts
from backend.accounts.schemas import PersonSchema
from backend.checkins import service as checkins
from backend.checkins.schemas import ANSWER_VALUE, TrendsSchema
from backend.conversations.schemas import ConversationSchema
from backend.counseling import service
from backend.counseling.models import EXERCISE_KINDS, EXERCISE_STATUSES, LINK_STATUSES, SCOPES
from backend.couples import service as couples
from backend.fields import DataKeyedDict, Trimmed, UTCDateTime
from backend.safety.schemas import WithoutNotice
from backend.timeline.schemas import TimelineEventSchema
from backend.viewer import current_viewing, viewer


class Shown(ma.fields.Nested):
    """A nested object worked out from the object being dumped (`of(obj)`), not read from
    one of its attributes: a person named by an id, as the views show them."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, nested: Any, of: Callable[[Any], Any], **kwargs: Any) -> None:
        super().__init__(nested, **kwargs)
        self.of = of

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(self.of(obj), attr, obj, **kwargs)


class ShownList(ma.fields.List):
    """A list worked out from the object being dumped (`of(obj)`; None stays None), each item
    as the viewer may see it."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, inner: Any, of: Callable[[Any], list[Any] | None], **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.of = of

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return super()._serialize(self.of(obj), attr, obj, **kwargs)


def _known_names() -> dict[str, str]:
    """Counselors' names found for this response (a list's, in one query); outside a viewer's
    response, a fresh dict each time, so nothing is kept."""
    return current_viewing().setdefault("counselor_names", {})


def _find_names(counselor_ids: Iterable[str | None]) -> None:
    """Find the names of a list's counselors at once, for `_counselor` to read."""
    known = _known_names()
    known.update(accounts.display_names(i for i in counselor_ids if i and i not in known))


def _counselor(counselor_id: str | None) -> dict[str, Any] | None:
    """A counselor as a link or an exercise names them (None once their account is gone)."""
    if not counselor_id:
        return None
    return service.counselor_person(counselor_id, names=_known_names())


class LinkCodeSchema(ma.Schema):
    """A code to give a couple."""

    code = ma.fields.String(metadata={"example": "K7MX3QPA"})
    expires_at = UTCDateTime()


class LinkProposeSchema(ma.Schema):
    """Link the counselor whose code this is."""

    EXAMPLE = {"code": "K7MX3QPA", "scope": "progress"}

    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    scope = ma.fields.String(
        load_default="progress",
        validate=validate.OneOf(SCOPES),
        metadata={
            "description": "progress (default): completion, statuses, timeline. shared_content: "
            "also shared answers once revealed, and conversation entries. Never private ones."
        },
    )


class LinkSchema(ma.Schema):
    """A counselor link."""

    id = ma.fields.String()
    counselor = Shown(PersonSchema, of=lambda link: _counselor(link.counselor_id))
    scope = ma.fields.String(metadata={"enum": list(SCOPES)})
    status = ma.fields.String(metadata={"enum": list(LINK_STATUSES)})
    proposed_by = Shown(
        PersonSchema,
        of=lambda link: service.partner(link.couple_id, link.proposed_by_id),
        allow_none=True,
    )
    proposed_at = UTCDateTime()
    activated_at = UTCDateTime(allow_none=True)
    ended_at = UTCDateTime(allow_none=True)

    @ma.pre_dump(pass_collection=True)
    def _find_counselors(self, data: Any, many: bool, **kwargs: Any) -> Any:
        """A list's counselors are named in one query, whatever its length."""
        if many:
            _find_names(link.counselor_id for link in data)
        return data


class ExerciseCreateSchema(ma.Schema):
    """An exercise to assign."""

    EXAMPLE = {
        "kind": "reflection",
        "instructions": "Write down one moment this week when you felt trusted.",
        "prompts": ["When did you feel trusted this week?"],
    }

    kind = ma.fields.String(required=True, validate=validate.OneOf(EXERCISE_KINDS))
    template = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=64),
        metadata={"description": "checkin: a prompt set key; conversation: a template key."},
    )
    instructions = Trimmed(load_default="", validate=validate.Length(max=2000))
    prompts = ma.fields.List(
        Trimmed(validate=validate.Length(min=1, max=500)),
        load_default=list,
        validate=validate.Length(max=10),
        metadata={"description": "reflection: your own prompts."},
    )
    due_on = ma.fields.Date(load_default=None, allow_none=True)


class PartSchema(ma.Schema):
    """One partner's part."""

    user = ma.fields.Nested(PersonSchema)
    completed_at = UTCDateTime(allow_none=True)


class ExerciseSchema(ma.Schema):
    """An assigned exercise."""

    id = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(EXERCISE_KINDS)})
    template = ma.fields.String(allow_none=True)
    instructions = ma.fields.String()
    prompts = ma.fields.List(ma.fields.String())
    due_on = ma.fields.Date(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(EXERCISE_STATUSES)})
    counselor = Shown(
        PersonSchema, of=lambda exercise: _counselor(exercise.counselor_id), allow_none=True
    )
    checkin_id = ma.fields.String(allow_none=True)
    conversation_id = ma.fields.String(allow_none=True)
    parts = ShownList(
        ma.fields.Nested(PartSchema),
        of=lambda exercise: [
            {
                "user": service.partner(exercise.couple_id, part.user_id),
                "completed_at": part.completed_at,
            }
            for part in exercise.participants
        ],
    )
    created_at = UTCDateTime()
    completed_at = UTCDateTime(allow_none=True)

    @ma.pre_dump(pass_collection=True)
    def _find_counselors(self, data: Any, many: bool, **kwargs: Any) -> Any:
        """A list's counselors are named in one query, whatever its length."""
        if many:
            _find_names(exercise.counselor_id for exercise in data)
        return data


class StartConversationSchema(ma.Schema):
    """Roles for the exercise's conversation."""

    EXAMPLE = {"roles": {"hurt_partner": "Jq3vX0bQ9mR2tL8wZ1kY4a"}}

    roles = DataKeyedDict(keys=ma.fields.String(), values=ma.fields.String(), required=True)


class ProgressSchema(ma.Schema):
    """How the couple is doing; counts only."""

    checkins_completed_4w = ma.fields.Integer()
    checkins_missed_4w = ma.fields.Integer()
    open_exercises = ma.fields.Integer()
    active_agreements = ma.fields.Integer()
    agreements_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    last_activity = UTCDateTime(allow_none=True)


class CoupleCardSchema(ma.Schema):
    """A linked couple."""

    id = ma.fields.String(attribute="couple.id")
    name = ma.fields.String(attribute="couple.name", allow_none=True)
    status = ma.fields.String(attribute="couple.status")
    timezone = ma.fields.String(attribute="couple.timezone")
    members = ShownList(
        ma.fields.Nested(PersonSchema),
        of=lambda card: [
            {"id": user_id, "display_name": name}
            for user_id, name in couples.member_names(card.couple).items()
        ],
    )
    link = ma.fields.Nested(LinkSchema)
    progress = ma.fields.Nested(ProgressSchema)


class SharedAnswerSchema(ma.Schema):
    """A shared answer."""

    prompt = ma.fields.String()
    value = ma.fields.Raw(metadata=ANSWER_VALUE)
    visibility = ma.fields.String()


class SharedResponseSchema(ma.Schema):
    """A partner's shared answers."""

    user = ma.fields.Nested(PersonSchema)
    answers = ma.fields.List(ma.fields.Nested(SharedAnswerSchema))


def _shared_responses(checkin: Any) -> list[dict[str, Any]]:
    """Each partner's answers to a revealed check-in, as far as the viewer may see them."""
    return [
        {
            "user": service.partner(checkin.couple_id, response.user_id),
            "answers": checkins.visible_answers(response, viewer_id=viewer().id, checkin=checkin),
        }
        for response in checkin.responses
    ]


class SharedCheckinSchema(ma.Schema):
    """A revealed check-in's shared answers."""

    id = ma.fields.String()
    title = ma.fields.String()
    revealed_at = UTCDateTime()
    responses = ShownList(ma.fields.Nested(SharedResponseSchema), of=_shared_responses)


class CoupleDetailSchema(CoupleCardSchema):
    """A linked couple within the scope the couple chose."""

    timeline = ma.fields.List(ma.fields.Nested(TimelineEventSchema))
    exercises = ma.fields.List(ma.fields.Nested(ExerciseSchema))
    trends = ma.fields.Nested(
        TrendsSchema,
        allow_none=True,
        metadata={"description": "With ?prompt=, only with scope shared_content."},
    )
    shared_checkins = ma.fields.List(
        ma.fields.Nested(SharedCheckinSchema),
        allow_none=True,
        metadata={"description": "Only with scope shared_content."},
    )
    # The counselor's view of the couple's conversations: no notice of their own in it.
    conversations = ShownList(
        WithoutNotice(ConversationSchema),
        of=lambda detail: detail.conversations,
        allow_none=True,
        metadata={"description": "Only with scope shared_content."},
    )

    @ma.pre_dump
    def _find_counselors(self, detail: Any, **kwargs: Any) -> Any:
        """The exercises' counselors are named in one query."""
        _find_names(exercise.counselor_id for exercise in detail.exercises)
        return detail


class CoupleDetailArgsSchema(ma.Schema):
    """`?prompt=` for the couple's trends on a scale prompt."""

    prompt = ma.fields.String(validate=validate.Length(min=1, max=64))
