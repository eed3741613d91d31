"""Request and response shapes of measures: questionnaires, responses, scores, sharing.

The response schemas dump the models the routes return (a questionnaire's version, a
response, an assignment) and the plain results of the service made of them (`service.Scores`,
`service.SharingChoices`, `service.SharedScores`); what each reader is shown is decided here,
and only here. A response is dumped for its author alone (`viewer()`); a counselor's shapes
carry scores and bands, never answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import marshmallow as ma
from marshmallow import validate

from backend.accounts import service as accounts
from backend.accounts.schemas import PersonSchema
from backend.couples import service as couples
from backend.fields import StrictBoolean, Trimmed, UTCDateTime
from backend.measures import library
from backend.measures.models import (
    FREQUENCIES,
    ITEM_KINDS,
    MEASURE_KINDS,
    MEASURE_STATUSES,
    RESPONSE_SOURCES,
    RESPONSE_STATUSES,
    Measure,
    MeasureAssignment,
    MeasureResponse,
    MeasureVersion,
)
from backend.pagination import PageArgsSchema
from backend.recurrence import WEEKDAYS, parse_local_time
from backend.safety.schemas import SafetyNoticeField
from backend.viewer import viewer

if TYPE_CHECKING:
    from backend.measures.service import SharedPartner, SharingChoices

# An answer's value by item kind: scale a whole number, single_choice an option value,
# short_text a string. Written out so generated clients get a union, not "any".
ANSWER_VALUE = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
OPTIONAL = {"optional": True}
# An author or linked counselor whose account is gone (erased) is shown under this name.
FORMER_COUNSELOR = "Former counselor"


def _valid_local_time(value: str) -> None:
    try:
        parse_local_time(value)
    except ValueError as exc:
        raise ma.ValidationError("Use 24-hour HH:MM, e.g. 19:00.") from exc


# --- questionnaires -------------------------------------------------------------------------


class AnchorSchema(ma.Schema):
    """A labelled point of a scale."""

    value = ma.fields.Integer(required=True, strict=True)
    label = Trimmed(required=True, validate=validate.Length(min=1, max=120))


class MeasureOptionSchema(ma.Schema):
    """A choice."""

    value = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    label = Trimmed(required=True, validate=validate.Length(min=1, max=120))


class RiskSchema(ma.Schema):
    """When an answer marks risk: a scale value at least `at_least`, or a choice `one_of`."""

    at_least = ma.fields.Integer(strict=True, metadata=OPTIONAL)
    one_of = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=32)),
        validate=validate.Length(min=1, max=20),
        metadata=OPTIONAL,
    )


class MeasureItemInSchema(ma.Schema):
    """A question of a counselor's questionnaire (settings of its kind only)."""

    key = ma.fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Stable key (a-z, 0-9, _); q1, q2... when left out."},
    )
    kind = ma.fields.String(required=True, validate=validate.OneOf(ITEM_KINDS))
    text = Trimmed(required=True, validate=validate.Length(min=1, max=500))
    min = ma.fields.Integer(strict=True, metadata={"description": "scale only"})
    max = ma.fields.Integer(strict=True, metadata={"description": "scale only"})
    anchors = ma.fields.List(
        ma.fields.Nested(AnchorSchema),
        validate=validate.Length(max=11),
        metadata={"description": "scale only: labels, at least at both ends"},
    )
    options = ma.fields.List(
        ma.fields.Nested(MeasureOptionSchema),
        validate=validate.Length(max=20),
        metadata={"description": "single_choice only"},
    )
    max_length = ma.fields.Integer(strict=True, metadata={"description": "short_text only"})
    optional = StrictBoolean(metadata={"description": "May be left unanswered (default false)."})
    risk = ma.fields.Nested(
        RiskSchema,
        allow_none=True,
        metadata={"description": "Mark this item as a risk item: the safety path follows."},
    )


class BandSchema(ma.Schema):
    """A range of totals and its name."""

    min = ma.fields.Integer(required=True, strict=True)
    max = ma.fields.Integer(required=True, strict=True)
    key = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    label = Trimmed(required=True, validate=validate.Length(min=1, max=60))


class ScoringInSchema(ma.Schema):
    """Sum the named scale items (all required scale items when left out), with bands."""

    method = ma.fields.String(load_default="sum", validate=validate.OneOf(["sum"]))
    items = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=32)))
    bands = ma.fields.List(ma.fields.Nested(BandSchema), validate=validate.Length(max=10))


class MeasureCreateSchema(ma.Schema):
    """A counselor's questionnaire: a draft until published."""

    EXAMPLE = {
        "title": "Between sessions",
        "instructions": "Think of the days since our last session.",
        "items": [
            {
                "key": "felt_heard",
                "kind": "scale",
                "text": "How heard did you feel by your partner?",
                "min": 0,
                "max": 4,
                "anchors": [{"value": 0, "label": "Not at all"}, {"value": 4, "label": "Fully"}],
            },
            {"key": "one_word", "kind": "short_text", "text": "One word for the week."},
        ],
        "scoring": {
            "method": "sum",
            "bands": [
                {"min": 0, "max": 1, "key": "low", "label": "Low"},
                {"min": 2, "max": 4, "key": "high", "label": "Higher"},
            ],
        },
    }

    title = Trimmed(required=True, validate=validate.Length(min=1, max=120))
    description = Trimmed(validate=validate.Length(max=500))
    instructions = Trimmed(validate=validate.Length(max=500))
    items = ma.fields.List(
        ma.fields.Nested(MeasureItemInSchema),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    scoring = ma.fields.Nested(ScoringInSchema, allow_none=True)


class MeasurePatchSchema(ma.Schema):
    """Changes to a draft (what is left out stays)."""

    EXAMPLE = {"title": "Between our sessions"}

    title = Trimmed(validate=validate.Length(min=1, max=120))
    description = Trimmed(validate=validate.Length(max=500))
    instructions = Trimmed(validate=validate.Length(max=500))
    items = ma.fields.List(
        ma.fields.Nested(MeasureItemInSchema), validate=validate.Length(min=1, max=50)
    )
    scoring = ma.fields.Nested(ScoringInSchema, allow_none=True)


class RiskOutSchema(ma.Schema):
    """An item's risk condition: one of the two is set."""

    at_least = ma.fields.Integer(allow_none=True, metadata={"description": "scale items"})
    one_of = ma.fields.List(
        ma.fields.String(), allow_none=True, metadata={"description": "single_choice items"}
    )


class AnchorOutSchema(ma.Schema):
    """A labelled point of a scale."""

    value = ma.fields.Integer()
    label = ma.fields.String()


class MeasureOptionOutSchema(ma.Schema):
    """A choice."""

    value = ma.fields.String()
    label = ma.fields.String()


class MeasureItemSchema(ma.Schema):
    """A question: its kind's settings only."""

    key = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(ITEM_KINDS)})
    text = ma.fields.String()
    optional = ma.fields.Boolean()
    min = ma.fields.Integer(metadata={"description": "scale only", **OPTIONAL})
    max = ma.fields.Integer(metadata={"description": "scale only", **OPTIONAL})
    anchors = ma.fields.List(
        ma.fields.Nested(AnchorOutSchema), metadata={"description": "scale only", **OPTIONAL}
    )
    options = ma.fields.List(
        ma.fields.Nested(MeasureOptionOutSchema),
        metadata={"description": "single_choice only", **OPTIONAL},
    )
    max_length = ma.fields.Integer(metadata={"description": "short_text only", **OPTIONAL})
    risk = ma.fields.Nested(RiskOutSchema, metadata={"description": "risk items only", **OPTIONAL})


class BandOutSchema(ma.Schema):
    """A range of totals and its name."""

    min = ma.fields.Integer()
    max = ma.fields.Integer()
    key = ma.fields.String()
    label = ma.fields.String()


class ScoringSchema(ma.Schema):
    """How the total is computed, and its bands."""

    method = ma.fields.String(metadata={"enum": ["sum"]})
    items = ma.fields.List(ma.fields.String())
    bands = ma.fields.List(ma.fields.Nested(BandOutSchema))
    min_score = ma.fields.Integer()
    max_score = ma.fields.Integer()


class SourceSchema(ma.Schema):
    """Where a library measure comes from, its terms and the attribution it asks for."""

    name = ma.fields.String()
    url = ma.fields.String(allow_none=True)
    checked_on = ma.fields.String(allow_none=True, metadata={"description": "YYYY-MM-DD"})
    attribution = ma.fields.String()
    terms = ma.fields.String()


def measure_as_asked(version: MeasureVersion) -> dict[str, Any]:
    """A measure as its version asks it: items, scoring, risk items and source (what
    `MeasureSchema` dumps; the export takes it as it is)."""
    measure = version.measure
    scoring = version.scoring
    items = [
        {**i, "risk": {"at_least": i["risk"].get("at_least"), "one_of": i["risk"].get("one_of")}}
        if i.get("risk")
        else i
        for i in version.items
    ]
    return {
        "id": measure.id,
        "key": measure.key,
        "version": version.version,
        "current_version": measure.current_version,
        "title": version.title,
        "description": version.description,
        "instructions": version.instructions,
        "kind": measure.kind,
        "validated": measure.kind == "validated",
        "status": measure.status,
        "items": items,
        "risk_items": [i["key"] for i in items if i.get("risk")],
        "scoring": (
            {
                **scoring,
                "min_score": sum(version.item(k)["min"] for k in scoring["items"]),
                "max_score": sum(version.item(k)["max"] for k in scoring["items"]),
            }
            if scoring
            else None
        ),
        "source": version.source,
        "author": (
            {
                "id": measure.author_id,
                "display_name": accounts.display_name(measure.author_id, missing=FORMER_COUNSELOR),
            }
            if measure.origin == "counselor"
            else None
        ),
        "published_at": measure.published_at,
    }


class MeasureSchema(ma.Schema):
    """A questionnaire in one version."""

    id = ma.fields.String()
    key = ma.fields.String(metadata={"example": "phq9"})
    version = ma.fields.Integer()
    current_version = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    instructions = ma.fields.String()
    kind = ma.fields.String(
        metadata={
            "enum": list(MEASURE_KINDS),
            "description": "validated: a published instrument; trustline_check: written for "
            "Trustline, not a validated instrument; counselor: a counselor's own.",
        }
    )
    validated = ma.fields.Boolean()
    status = ma.fields.String(metadata={"enum": list(MEASURE_STATUSES)})
    items = ma.fields.List(ma.fields.Nested(MeasureItemSchema))
    risk_items = ma.fields.List(ma.fields.String())
    scoring = ma.fields.Nested(ScoringSchema, allow_none=True)
    source = ma.fields.Nested(SourceSchema, allow_none=True)
    author = ma.fields.Nested(PersonSchema, allow_none=True)
    published_at = UTCDateTime(allow_none=True)

    @ma.pre_dump
    def _as_asked(
        self, measure: Measure | MeasureVersion | dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        # A measure is shown in its current version. A dict is one already shown (the
        # console's and a response's questionnaire, as `measure_as_asked` gave it).
        if isinstance(measure, Measure):
            measure = measure.current()
        return measure_as_asked(measure) if isinstance(measure, MeasureVersion) else measure


# --- responses ------------------------------------------------------------------------------


class MeasureRefSchema(ma.Schema):
    """Which questionnaire, in which version."""

    key = ma.fields.String()
    title = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(MEASURE_KINDS)})
    version = ma.fields.Integer()


class BandRefSchema(ma.Schema):
    """A score's band."""

    key = ma.fields.String()
    label = ma.fields.String()


def band_shown(version: MeasureVersion, band_key: str | None) -> dict[str, str] | None:
    """A band as shown: its key and label."""
    for band in (version.scoring or {}).get("bands", []):
        if band["key"] == band_key:
            return {"key": band["key"], "label": band["label"]}
    return None


def response_as_seen(response: MeasureResponse, *, detail: bool = True) -> dict[str, Any]:
    """A response as its author sees it (nobody else ever does): with `detail`, the
    questionnaire as asked and the answers too (the export takes it as it is)."""
    version = response.version
    seen: dict[str, Any] = {
        "id": response.id,
        "measure": {
            "key": version.measure.key,
            "title": version.title,
            "kind": version.measure.kind,
            "version": version.version,
        },
        "source": response.source,
        "status": response.status,
        "due_at": response.due_at,
        "opened_at": response.opened_at,
        "closes_at": response.closes_at,
        "submitted_at": response.submitted_at,
        "score": response.score,
        "band": band_shown(version, response.band),
    }
    if detail:
        seen["questionnaire"] = measure_as_asked(version)
        seen["answers"] = [{"item": k, "value": v} for k, v in response.answers.items()]
    return seen


def _authors_own(response: MeasureResponse) -> MeasureResponse:
    # The access decorators let only the author reach a response; this holds it for every
    # dump, so a response never reaches anyone else by a path that forgot to check.
    if viewer().id != response.user_id:
        raise LookupError("A questionnaire response is shown to its author alone.")
    return response


def point_shown(response: MeasureResponse) -> dict[str, Any]:
    """A submitted score in a series: when, in which version, the score and its band."""
    return {
        "response_id": response.id,
        "submitted_at": response.submitted_at,
        "version": response.version.version,
        "score": response.score,
        "band": band_shown(response.version, response.band),
    }


# Named MeasureResponse..., never a bare `Response`: a generated Python client's operation
# modules import the generator's own `Response` type, which a model of that name shadows.
class MeasureResponseSummarySchema(ma.Schema):
    """One of my responses in a list."""

    id = ma.fields.String()
    measure = ma.fields.Nested(MeasureRefSchema)
    source = ma.fields.String(metadata={"enum": list(RESPONSE_SOURCES)})
    status = ma.fields.String(metadata={"enum": list(RESPONSE_STATUSES)})
    due_at = UTCDateTime(allow_none=True)
    opened_at = UTCDateTime()
    closes_at = UTCDateTime(allow_none=True)
    submitted_at = UTCDateTime(allow_none=True)
    score = ma.fields.Integer(allow_none=True)
    band = ma.fields.Nested(BandRefSchema, allow_none=True)

    @ma.pre_dump
    def _as_seen(self, response: MeasureResponse, **kwargs: Any) -> dict[str, Any]:
        return response_as_seen(_authors_own(response), detail=False)


class MeasureAnswerOutSchema(ma.Schema):
    """My answer to one item."""

    item = ma.fields.String()
    value = ma.fields.Raw(metadata=ANSWER_VALUE)


class MeasureResponseSchema(MeasureResponseSummarySchema):
    """One of my responses: the questionnaire as asked, and my answers."""

    questionnaire = ma.fields.Nested(MeasureSchema)
    answers = ma.fields.List(ma.fields.Nested(MeasureAnswerOutSchema))

    @ma.pre_dump
    def _as_seen(self, response: MeasureResponse, **kwargs: Any) -> dict[str, Any]:
        return response_as_seen(_authors_own(response))


class MeasureResponseSavedSchema(MeasureResponseSchema):
    """My response after saving, with the safety resources if an answer calls for them."""

    safety_notice = SafetyNoticeField(metadata={"description": "For you alone."})


class MeasureResponsePageSchema(ma.Schema):
    """A page of my responses, newest first."""

    items = ma.fields.List(ma.fields.Nested(MeasureResponseSummarySchema))
    next_cursor = ma.fields.String(allow_none=True)


class MeasureResponseQueryArgsSchema(PageArgsSchema):
    """`?status=&limit=&cursor=`."""

    status = ma.fields.String(validate=validate.OneOf(RESPONSE_STATUSES))


class MeasureResponseCreateSchema(ma.Schema):
    """Which questionnaire to take now, on my own."""

    EXAMPLE = {"measure": "gad7"}

    measure = ma.fields.String(
        required=True, validate=validate.Length(min=1, max=64), metadata={"example": "gad7"}
    )


class MeasureAnswerInSchema(ma.Schema):
    """My answer to one item."""

    item = ma.fields.String(required=True, validate=validate.Length(min=1, max=32))
    value = ma.fields.Raw(
        required=True,
        allow_none=False,
        metadata={
            **ANSWER_VALUE,
            "description": "scale: a whole number on the scale; single_choice: an option "
            "value; short_text: a string",
        },
    )


class MeasureResponsePutSchema(ma.Schema):
    """All my answers (replacing earlier ones), and whether they are final."""

    EXAMPLE = {"answers": [{"item": "gad7_1", "value": 1}], "submit": False}

    answers = ma.fields.List(
        ma.fields.Nested(MeasureAnswerInSchema), required=True, validate=validate.Length(max=50)
    )
    submit = StrictBoolean(
        load_default=False,
        metadata={"description": "Final: scored and banded, no more changes."},
    )


class ScorePointSchema(ma.Schema):
    """One submitted score."""

    response_id = ma.fields.String()
    submitted_at = UTCDateTime()
    version = ma.fields.Integer()
    score = ma.fields.Integer()
    band = ma.fields.Nested(BandRefSchema, allow_none=True)

    @ma.pre_dump
    def _as_point(self, response: MeasureResponse, **kwargs: Any) -> dict[str, Any]:
        return point_shown(_authors_own(response))


class ScoresSchema(ma.Schema):
    """My series for one questionnaire, oldest first."""

    measure = ma.fields.Nested(MeasureSchema)
    points = ma.fields.List(ma.fields.Nested(ScorePointSchema))


# --- sharing --------------------------------------------------------------------------------


class SharingChoiceSchema(ma.Schema):
    """My choice for one linked counselor."""

    counselor_link_id = ma.fields.String()
    counselor = ma.fields.Nested(PersonSchema)
    share = ma.fields.Boolean()
    alert_on_risk = ma.fields.Boolean()
    shared_since = UTCDateTime(allow_none=True)


class SharingSchema(ma.Schema):
    """My choices for every linked counselor, and what each choice means."""

    about_sharing = ma.fields.String()
    about_alerts = ma.fields.String()
    counselors = ma.fields.List(ma.fields.Nested(SharingChoiceSchema))

    @ma.pre_dump
    def _as_chosen(self, sharing: SharingChoices, **kwargs: Any) -> dict[str, Any]:
        # Only the viewer's own choices are ever shown: the other partner's are theirs.
        if viewer().id != sharing.user_id:
            raise LookupError("Sharing choices are shown to the partner who made them alone.")
        # Every counselor's name in one query, whatever the number of links.
        names = accounts.display_names(link.counselor_id for link in sharing.links)
        return {
            "about_sharing": library.message("sharing_explained"),
            "about_alerts": library.message("alert_explained"),
            "counselors": [
                {
                    "counselor_link_id": link.id,
                    "counselor": {
                        "id": link.counselor_id,
                        "display_name": names.get(link.counselor_id, FORMER_COUNSELOR),
                    },
                    "share": bool(choice and choice.share),
                    "alert_on_risk": bool(choice and choice.share and choice.alert_on_risk),
                    "shared_since": choice.shared_since if choice and choice.share else None,
                }
                for link in sharing.links
                for choice in [sharing.choices.get(link.id)]
            ],
        }


class SharingPutSchema(ma.Schema):
    """Share my scores with one linked counselor (a fresh login), or stop (never needs one)."""

    EXAMPLE = {"counselor_link_id": "kq3GnRr0Tw2o1yVfXc8b9A", "share": True, "alert_on_risk": False}

    counselor_link_id = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    share = StrictBoolean(required=True)
    alert_on_risk = StrictBoolean(
        load_default=False,
        metadata={
            "description": "An urgent in-app alert naming the questionnaire, never the "
            "answer, when I submit a risk answer. Needs `share`."
        },
    )


# --- the counselor's side -------------------------------------------------------------------


class PartnersField(ma.fields.Field):
    """`"both"`, or a list of the partners' user ids."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value == "both":
            return value
        if (
            isinstance(value, list)
            and 1 <= len(value) <= 2
            and all(isinstance(v, str) and 0 < len(v) <= 64 for v in value)
        ):
            return value
        raise ma.ValidationError('Give "both", or a list of one or two partner ids.')


class AssignmentCreateSchema(ma.Schema):
    """Ask one or both partners to answer a questionnaire, once or on a schedule."""

    EXAMPLE = {"measure": "phq9", "partners": "both", "frequency": "weekly", "local_time": "19:00"}

    measure = ma.fields.String(required=True, validate=validate.Length(min=1, max=64))
    partners = PartnersField(
        required=True,
        metadata={
            "oneOf": [
                {"type": "string", "enum": ["both"]},
                {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
            ]
        },
    )
    frequency = ma.fields.String(required=True, validate=validate.OneOf(FREQUENCIES))
    local_time = ma.fields.String(
        required=True, validate=_valid_local_time, metadata={"example": "19:00"}
    )
    weekday = ma.fields.String(
        validate=validate.OneOf(WEEKDAYS),
        metadata={
            "description": "The day (in each partner's time zone); the first day the "
            "local time comes when left out."
        },
    )


class AssignedPartnerSchema(ma.Schema):
    """A partner of an assignment, and their next occurrence in UTC."""

    user = ma.fields.Nested(PersonSchema)
    weekday = ma.fields.String(metadata={"enum": list(WEEKDAYS)})
    next_due_at = UTCDateTime(allow_none=True)


class AssignmentMeasureSchema(ma.Schema):
    """Which questionnaire."""

    key = ma.fields.String()
    title = ma.fields.String()


class AssignmentSchema(ma.Schema):
    """An assignment: whom, what and when; never anyone's answers or scores."""

    id = ma.fields.String()
    couple_id = ma.fields.String()
    measure = ma.fields.Nested(AssignmentMeasureSchema)
    frequency = ma.fields.String(metadata={"enum": list(FREQUENCIES)})
    local_time = ma.fields.String()
    window_hours = ma.fields.Integer()
    status = ma.fields.String(metadata={"enum": ["active", "ended"]})
    partners = ma.fields.List(ma.fields.Nested(AssignedPartnerSchema))
    created_at = UTCDateTime()
    ended_at = UTCDateTime(allow_none=True)

    @ma.pre_dump
    def _as_made(self, assignment: MeasureAssignment, **kwargs: Any) -> dict[str, Any]:
        # Whom and when, as the counselor who made it sees it: never results.
        names = couples.member_names_of(assignment.couple_id)
        return {
            "id": assignment.id,
            "couple_id": assignment.couple_id,
            "measure": {
                "key": assignment.measure.key,
                "title": assignment.measure.current().title,
            },
            "frequency": assignment.frequency,
            "local_time": assignment.local_time,
            "window_hours": assignment.window_hours,
            "status": assignment.status,
            "partners": [
                {
                    "user": {"id": p.user_id, "display_name": names.get(p.user_id)},
                    "weekday": p.weekday,
                    "next_due_at": p.next_due_at,
                }
                for p in assignment.partners
            ],
            "created_at": assignment.created_at,
            "ended_at": assignment.ended_at,
        }


class SharedPointSchema(ma.Schema):
    """One submitted score of a sharing partner."""

    submitted_at = UTCDateTime()
    version = ma.fields.Integer()
    score = ma.fields.Integer()
    band = ma.fields.Nested(BandRefSchema, allow_none=True)

    @ma.pre_dump
    def _as_point(self, response: MeasureResponse, **kwargs: Any) -> dict[str, Any]:
        return point_shown(response)


class SharedMeasureSchema(AssignmentMeasureSchema):
    """Which questionnaire, and whether it is a validated instrument."""

    kind = ma.fields.String(
        metadata={
            "enum": list(MEASURE_KINDS),
            "description": "validated, trustline_check (not a validated instrument) or "
            "counselor (your own).",
        }
    )


class SharedSeriesSchema(ma.Schema):
    """A sharing partner's series for one questionnaire."""

    measure = ma.fields.Nested(SharedMeasureSchema)
    # Dumped without response ids: a counselor can't open a response.
    points = ma.fields.List(ma.fields.Nested(SharedPointSchema))

    @ma.pre_dump
    def _as_series(self, responses: list[MeasureResponse], **kwargs: Any) -> dict[str, Any]:
        # A series is named as its latest response's version asked it.
        latest = responses[-1].version
        return {
            "measure": {
                "key": latest.measure.key,
                "title": latest.title,
                "kind": latest.measure.kind,
            },
            "points": responses,
        }


class SharedPartnerSchema(ma.Schema):
    """A partner who shares with this counselor, and their series."""

    user = ma.fields.Nested(PersonSchema)
    measures = ma.fields.List(ma.fields.Nested(SharedSeriesSchema))

    @ma.pre_dump
    def _as_shared(self, partner: SharedPartner, **kwargs: Any) -> dict[str, Any]:
        return {
            "user": {"id": partner.user_id, "display_name": partner.display_name},
            "measures": partner.series,
        }


class SharedScoresSchema(ma.Schema):
    """The scores of each partner who shares with you (partners who don't are not listed)."""

    partners = ma.fields.List(ma.fields.Nested(SharedPartnerSchema))


# --- export ---------------------------------------------------------------------------------


class ExportSharingSchema(ma.Schema):
    """A sharing choice, as exported."""

    counselor_link_id = ma.fields.String()
    share = ma.fields.Boolean()
    alert_on_risk = ma.fields.Boolean()
    shared_since = ma.fields.String(allow_none=True, metadata={"format": "date-time"})


class ExportMeasuresSchema(ma.Schema):
    """Your questionnaires in an export (instants as UTC strings ending in Z)."""

    responses = ma.fields.List(ma.fields.Nested(MeasureResponseSchema))
    sharing = ma.fields.List(ma.fields.Nested(ExportSharingSchema))
    authored = ma.fields.List(ma.fields.Nested(MeasureSchema))
