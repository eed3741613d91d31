"""Measures: the library, counselors' own questionnaires, answering and scoring, assignments,
and each partner's choice of who sees their scores.

A response is its author's alone. It never reaches the other partner (no timeline event, no
notification, nothing in their export), not even the fact that it exists. A linked counselor
sees scores and bands, never answers, and only while the author shares with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from backend import clock
from backend.accounts import service as accounts
from backend.counseling import service as counseling
from backend.couples import service as couples
from backend.database import lock_rows
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.fields import text_problem
from backend.ids import new_id
from backend.measures import library
from backend.measures.models import (
    AssignedPartner,
    Measure,
    MeasureAssignment,
    MeasureResponse,
    MeasureSharing,
    MeasureVersion,
)
from backend.notifications import service as notifications
from backend.pagination import Page, keyset_page
from backend.recurrence import WEEKDAYS, Rule, next_occurrence, parse_local_time
from backend.unit_of_work import use_case

if TYPE_CHECKING:
    from backend.accounts.service import User

NO_MEASURE = "There is no questionnaire with this key that you can see."
NO_RESPONSE = "There is no questionnaire response with this id that you can see."
NO_ASSIGNMENT = "There is no assignment with this id that you can see."
# How long an assigned occurrence stays open, by frequency: shorter than the gap to the next.
WINDOW_HOURS = {"once": 7 * 24, "weekly": 3 * 24, "biweekly": 7 * 24, "every_4_weeks": 7 * 24}
PERIOD_WEEKS = {"weekly": 1, "biweekly": 2, "every_4_weeks": 4}
# One reminder, this long before an assigned occurrence closes.
REMINDER_BEFORE_CLOSE = timedelta(hours=24)
# The kind of a counselor's urgent notification on a risk answer (the console lists them).
RISK_ALERT = "measure_risk_alert"


# --- the library, and who sees which measure ------------------------------------------------


def _linked_counselor_ids(user: User) -> list[str]:
    """The counselors actively linked to the partner's active couple."""
    couple = couples.active_couple_of(user.id)
    if couple is None:
        return []
    return [link.counselor_id for link in counseling.active_links_of(couple.id)]


def _visible(user: User) -> sa.ColumnElement[bool]:
    """Published measures the user may open: the library, and counselors' own published ones
    (a counselor's: theirs; a partner's: those of their couple's linked counselors)."""
    authors = [user.id] if user.role == "counselor" else _linked_counselor_ids(user)
    return sa.and_(
        Measure.status == "published",
        sa.or_(Measure.origin == "library", Measure.author_id.in_(authors)),
    )


def list_measures(*, user: User) -> list[Measure]:
    """The measures the user may open, the library first."""
    return list(
        db.session.scalars(
            sa.select(Measure)
            .where(_visible(user))
            .order_by(Measure.origin.desc(), Measure.created_at, Measure.key)
            # Each is shown in its current version: all versions in one query, not one each.
            .options(selectinload(Measure.versions))
        )
    )


def find_measure(*, user: User, key: str, field: str | None = None) -> Measure:
    """A measure the user may open, by key: 404 (or 422 naming `field`, for a body's key)."""
    measure = db.session.scalar(sa.select(Measure).where(Measure.key == key, _visible(user)))
    if measure is None:
        if field:
            raise Invalid.field(field, "There is no questionnaire with this key you can use.")
        raise NotFound(NO_MEASURE)
    return measure


# --- counselors' own questionnaires ---------------------------------------------------------


def _definition_or_422(definition: dict[str, Any]) -> dict[str, Any]:
    """The version content of a counselor's definition; 422 naming every field at fault."""
    items = definition.get("items") or []
    # An item left without a key gets q1, q2... by its place.
    definition = {
        **definition,
        "items": [{"key": f"q{n + 1}", **item} for n, item in enumerate(items)],
    }
    problems = library.definition_problems(definition)
    if problems:
        raise Invalid("Some parts of the questionnaire need changing.", errors=problems)
    return library.version_content({**definition, "source": None})


@use_case
def create_measure(*, counselor: User, definition: dict[str, Any]) -> Measure:
    """A counselor writes a questionnaire: a draft until they publish it."""
    content = _definition_or_422(definition)
    measure_id = new_id()
    # The key is the id: opaque, so a key can't be guessed to find someone's questionnaire.
    measure = Measure(
        id=measure_id,
        key=measure_id,
        origin="counselor",
        kind="counselor",
        status="draft",
        author_id=counselor.id,
        current_version=1,
    )
    measure.versions.append(
        MeasureVersion(version=1, content_hash=library.content_hash(content), **content)
    )
    db.session.add(measure)
    return measure


def own_measures(*, counselor: User) -> list[Measure]:
    """The counselor's questionnaires, drafts included, newest first."""
    return list(
        db.session.scalars(
            sa.select(Measure)
            .where(Measure.author_id == counselor.id, Measure.origin == "counselor")
            .order_by(Measure.created_at.desc(), Measure.id)
            .options(selectinload(Measure.versions))
        )
    )


def own_measure(measure_id: str, counselor: User) -> Measure:
    """A questionnaire the counselor wrote; 404 otherwise."""
    measure = db.session.get(Measure, measure_id)
    if measure is None or measure.origin != "counselor" or measure.author_id != counselor.id:
        raise NotFound(NO_MEASURE)
    return measure


@use_case
def update_draft(*, measure: Measure, changes: dict[str, Any]) -> Measure:
    """Edit a draft in place; a published questionnaire is frozen (409)."""
    if measure.status != "draft":
        raise Conflict("A published questionnaire is frozen, so its scores stay comparable.")
    version = measure.current()
    current = {
        "title": version.title,
        "description": version.description,
        "instructions": version.instructions,
        "items": version.items,
        "scoring": version.scoring,
    }
    content = _definition_or_422({**current, **changes})
    for name, value in content.items():
        setattr(version, name, value)
    version.content_hash = library.content_hash(content)
    return measure


@use_case
def publish(*, measure: Measure) -> Measure:
    """Publish a draft: from now on it is frozen, and can be assigned."""
    if measure.status != "draft":
        raise Conflict("This questionnaire is already published.")
    measure.status = "published"
    measure.published_at = clock.now()
    return measure


# --- responses: answering, scoring, the crisis path -----------------------------------------


@use_case
def start_response(*, user: User, measure_key: str) -> MeasureResponse:
    """A partner takes a measure on their own; it stays open until they submit it."""
    measure = find_measure(user=user, key=measure_key, field="measure")
    response = MeasureResponse(
        user_id=user.id,
        measure_id=measure.id,
        measure_version_id=measure.current().id,
        source="self",
        status="open",
    )
    db.session.add(response)
    return response


def response_of(response_id: str, user: User) -> MeasureResponse:
    """The caller's own response; 404 for anyone else (their partner and counselors too)."""
    response = db.session.get(MeasureResponse, response_id)
    if response is None or response.user_id != user.id:
        raise NotFound(NO_RESPONSE)
    return response


def list_responses(
    *, user: User, limit: int, cursor: str | None, status: str | None = None
) -> Page[MeasureResponse]:
    """A page of the caller's responses, newest first."""
    statement = sa.select(MeasureResponse).where(MeasureResponse.user_id == user.id)
    if status:
        statement = statement.where(MeasureResponse.status == status)
    return keyset_page(
        statement,
        moment_column=MeasureResponse.opened_at,
        id_column=MeasureResponse.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def value_problem(item: dict[str, Any], value: Any) -> str | None:
    """Why `value` does not answer `item`, without quoting it; None if it does."""
    kind = item["kind"]
    if kind == "scale":
        if isinstance(value, bool) or not isinstance(value, int):
            return "Answer with a whole number on the scale."
        if not item["min"] <= value <= item["max"]:
            return f"Answer with a number from {item['min']} to {item['max']}."
        return None
    if kind == "single_choice":
        if value not in {o["value"] for o in item["options"]}:
            return "Answer with one of the option values."
        return None
    if not isinstance(value, str):
        return "Answer with text."
    if len(value) > item["max_length"]:
        return f"At most {item['max_length']} characters."
    return text_problem(value)


def _risk_marked(item: dict[str, Any], value: Any) -> bool:
    risk = item.get("risk") or {}
    if "at_least" in risk:
        return isinstance(value, int) and not isinstance(value, bool) and value >= risk["at_least"]
    if "one_of" in risk:
        return value in risk["one_of"]
    return False


def risk_items_marked(response: MeasureResponse) -> list[str]:
    """The keys of the risk items the response's saved answers mark."""
    version = response.version
    return [
        key
        for key, value in response.answers.items()
        if (item := version.item(key)) is not None and _risk_marked(item, value)
    ]


def safety_messages(response: MeasureResponse) -> list[str]:
    """The content's messages for the risk items the author's saved answers mark (for
    `safety.notice_for(flagged=...)`): the library's own for its measures, a general one for
    a counselor's."""
    if not risk_items_marked(response):
        return []
    origin = response.version.measure.origin
    return [library.message("risk_message" if origin == "library" else "author_risk_message")]


def written_texts(response: MeasureResponse) -> list[str]:
    """What the author wrote in short-text items (the safety notice reads it for fear)."""
    return [v for v in response.answers.values() if isinstance(v, str)]


def score_of(version: MeasureVersion, answers: dict[str, Any]) -> tuple[int | None, str | None]:
    """The total and its band's key, by the version's scoring rule (none: no score)."""
    scoring = version.scoring
    if not scoring:
        return None, None
    total = sum(answers[key] for key in scoring["items"])
    band = next((b["key"] for b in scoring["bands"] if b["min"] <= total <= b["max"]), None)
    return total, band


def _answers_or_422(
    version: MeasureVersion, answers: list[dict[str, Any]], *, submit: bool
) -> dict[str, Any]:
    """The answers by item key; 422 naming every answer that does not fit its question (and,
    on `submit`, every required question left unanswered). Values are never quoted back."""
    errors: dict[str, list[str]] = {}
    given: dict[str, Any] = {}
    for n, answer in enumerate(answers):
        key = answer["item"]
        item = version.item(key)
        if item is None:
            errors[f"answers.{n}.item"] = ["This is not a question of this questionnaire."]
        elif key in given:
            errors[f"answers.{key}"] = ["This question is answered twice."]
        elif problem := value_problem(item, answer["value"]):
            errors[f"answers.{key}"] = [problem]
        given[key] = answer["value"]
    if submit and not errors:
        for item in version.items:
            if not item["optional"] and item["key"] not in given:
                errors[f"answers.{item['key']}"] = ["Answer this question before submitting."]
    if errors:
        raise Invalid("Some answers do not fit their questions.", errors=errors)
    return given


@use_case
def save_response(
    *, response: MeasureResponse, user: User, answers: list[dict[str, Any]], submit: bool
) -> MeasureResponse:
    """Replace my answers; with `submit` they are final, scored and banded. A risk answer on
    submit alerts the counselors the author asked to be alerted, naming only the measure."""
    response = lock_rows(
        sa.select(MeasureResponse).where(MeasureResponse.id == response.id),
        MeasureResponse.__table__,
        db.session,
        of=MeasureResponse,  # not the joined version: PostgreSQL locks no outer join's side
    ).one()
    now = clock.now()
    if response.status != "open" or (response.closes_at and response.closes_at <= now):
        raise Conflict("This questionnaire is closed; its answers can no longer change.")
    version = response.version
    given = _answers_or_422(version, answers, submit=submit)
    response.answers = given
    response.updated_at = now
    if submit:
        response.status = "submitted"
        response.submitted_at = now
        response.score, response.band = score_of(version, given)
        if risk_items_marked(response):
            _alert_counselors(response=response, user=user)
    return response


def _sharing_links(user: User, *, alert: bool = False) -> list[Any]:
    """The active counselor links with which the user shares (and, with `alert`, asked to be
    alerted on a risk answer)."""
    statement = sa.select(MeasureSharing.link_id).where(
        MeasureSharing.user_id == user.id, MeasureSharing.share == sa.true()
    )
    if alert:
        statement = statement.where(MeasureSharing.alert_on_risk == sa.true())
    return counseling.active_links_among(list(db.session.scalars(statement)))


def _counselor_sees(measure: Measure, counselor_id: str) -> bool:
    """Whether a sharing counselor sees this measure's scores: the library's, and their own."""
    return measure.origin == "library" or measure.author_id == counselor_id


def _alert_counselors(*, response: MeasureResponse, user: User) -> None:
    """An urgent notification to each counselor the author chose to alert: the measure's
    name, never an answer. Nothing to the other partner."""
    version = response.version
    for link in _sharing_links(user, alert=True):
        if not _counselor_sees(version.measure, link.counselor_id):
            continue
        notifications.notify(
            user_ids=[link.counselor_id],
            couple_id=link.couple_id,
            kind=RISK_ALERT,
            title="Urgent: a risk answer on a questionnaire",
            body=f"{user.display_name} submitted {version.title} with an answer that signals "
            "risk. They chose to have you alerted; please reach out to them as you would for "
            "any risk answer. Their answers are not shown here.",
            subject=("couple", link.couple_id),
        )


@dataclass(frozen=True)
class Scores:
    """My series for one measure: the measure, and my scored responses, oldest first."""

    measure: Measure
    points: list[MeasureResponse]


def my_scores(*, user: User, measure_key: str) -> Scores:
    """My series for one measure: each submitted score with its band, oldest first."""
    measure = db.session.scalar(sa.select(Measure).where(Measure.key == measure_key))
    responses = (
        list(
            db.session.scalars(
                sa.select(MeasureResponse)
                .where(
                    MeasureResponse.user_id == user.id,
                    MeasureResponse.measure_id == measure.id,
                    MeasureResponse.status == "submitted",
                )
                .order_by(MeasureResponse.submitted_at, MeasureResponse.id)
            )
        )
        if measure
        else []
    )
    if measure is None or (not responses and not _is_visible(user, measure)):
        raise NotFound(NO_MEASURE)
    return Scores(measure=measure, points=[r for r in responses if r.score is not None])


def _is_visible(user: User, measure: Measure) -> bool:
    return (
        db.session.scalar(sa.select(Measure.id).where(Measure.id == measure.id, _visible(user)))
        is not None
    )


# --- sharing with counselors ----------------------------------------------------------------


@dataclass(frozen=True)
class SharingChoices:
    """A partner's choices: each active counselor link of their couple (longest-standing
    first), and their choice for it by link id (none made yet: absent)."""

    user_id: str
    links: list[Any]
    choices: dict[str, MeasureSharing]


def sharing_of(*, user: User, couple: Any) -> SharingChoices:
    """My choice for each counselor linked to our couple."""
    choices = {
        s.link_id: s
        for s in db.session.scalars(
            sa.select(MeasureSharing).where(MeasureSharing.user_id == user.id)
        )
    }
    return SharingChoices(
        user_id=user.id, links=counseling.active_links_of(couple.id), choices=choices
    )


@use_case
def set_sharing(
    *,
    user: User,
    couple: Any,
    counselor_link_id: str,
    share: bool,
    alert_on_risk: bool,
    confirm_fresh_login: Callable[[], None],
    session_id: str | None = None,
) -> SharingChoices:
    """Share my scores with one linked counselor, or stop. Widening (sharing, or alerts, turned
    on) needs a fresh login: `confirm_fresh_login` raises otherwise. Stepping back never does,
    and takes effect at once."""
    links = counseling.active_links_of(couple.id)
    link = next((k for k in links if k.id == counselor_link_id), None)
    if link is None:
        raise Invalid.field(
            "counselor_link_id", "There is no counselor linked to your couple with this id."
        )
    if alert_on_risk and not share:
        raise Invalid.field("alert_on_risk", "Alerts come with sharing: turn sharing on too.")
    choice = db.session.scalar(
        sa.select(MeasureSharing).where(
            MeasureSharing.user_id == user.id, MeasureSharing.link_id == link.id
        )
    ) or MeasureSharing(user_id=user.id, link_id=link.id, share=False, alert_on_risk=False)
    was_sharing = bool(choice.share)
    if (share and not choice.share) or (alert_on_risk and not choice.alert_on_risk):
        confirm_fresh_login()
    now = clock.now()
    if share and not was_sharing:
        choice.shared_since = now
    choice.share, choice.alert_on_risk = share, alert_on_risk
    if not share:
        choice.shared_since = None
    choice.updated_at = now
    db.session.add(choice)
    if share != was_sharing:
        accounts.record_activity(
            user_id=user.id,
            kind="measure_sharing_on" if share else "measure_sharing_off",
            session_id=session_id,
            details={"counselor_link_id": link.id},
        )
    return sharing_of(user=user, couple=couple)


@dataclass(frozen=True)
class SharedPartner:
    """A partner who shares with a counselor: their name in the couple, and their scored
    responses the counselor may see, one series per measure (each oldest first)."""

    user_id: str
    display_name: str | None
    series: list[list[MeasureResponse]]


@dataclass(frozen=True)
class SharedScores:
    """What a counselor sees of a couple's questionnaires: the partners who share with them."""

    partners: list[SharedPartner]


def _shared_series(user_id: str, counselor_id: str) -> list[list[MeasureResponse]]:
    """The partner's scored responses a sharing counselor sees (the library's measures and the
    counselor's own), one series per measure, each oldest first."""
    responses = db.session.scalars(
        sa.select(MeasureResponse)
        .join(Measure, Measure.id == MeasureResponse.measure_id)
        .where(
            MeasureResponse.user_id == user_id,
            MeasureResponse.status == "submitted",
            MeasureResponse.score.is_not(None),
            sa.or_(Measure.origin == "library", Measure.author_id == counselor_id),
        )
        .order_by(MeasureResponse.submitted_at, MeasureResponse.id)
    ).all()
    series: dict[str, list[MeasureResponse]] = {}
    for response in responses:
        series.setdefault(response.version.measure.key, []).append(response)
    return list(series.values())


def shared_scores(*, couple: Any, link: Any) -> SharedScores:
    """Each partner who shares with this counselor: their series per measure, with bands.
    Partners who don't share are not listed; answers are never included."""
    sharing = set(
        db.session.scalars(
            sa.select(MeasureSharing.user_id).where(
                MeasureSharing.link_id == link.id, MeasureSharing.share == sa.true()
            )
        )
    )
    names = couples.member_names(couple)
    return SharedScores(
        partners=[
            SharedPartner(
                user_id=user_id,
                display_name=names.get(user_id),
                series=_shared_series(user_id, link.counselor_id),
            )
            for user_id in couple.member_ids()
            if user_id in sharing
        ]
    )


# --- assignments ----------------------------------------------------------------------------


def first_occurrence(
    *, local_time: str, timezone: str, weekday: str | None, after: datetime
) -> tuple[datetime, str]:
    """The first occurrence after `after` in the partner's time zone, and its weekday."""
    rule = Rule(
        frequency="weekly" if weekday else "daily",
        local_time=parse_local_time(local_time),
        timezone=timezone,
        weekdays=(weekday,) if weekday else (),
    )
    due = next_occurrence(rule, after)
    return due, WEEKDAYS[due.astimezone(ZoneInfo(timezone)).weekday()]


def next_after(
    *, frequency: str, local_time: str, timezone: str, weekday: str, due: datetime
) -> datetime | None:
    """The occurrence after `due` (none for `once`), on the partner's weekday and local time.

    Every 2 or 4 weeks: the weekly occurrence after a point safely inside the last week of the
    gap, so a DST change (an hour either way) can neither skip nor repeat a week.
    """
    if frequency == "once":
        return None
    weeks = PERIOD_WEEKS[frequency]
    rule = Rule("weekly", parse_local_time(local_time), timezone, (weekday,))
    after = due if weeks == 1 else due + timedelta(days=7 * (weeks - 1) + 1)
    return next_occurrence(rule, after)


def assignable_measure(*, counselor: User, key: str) -> Measure:
    """The library's measures and the counselor's own published ones; 422 naming `measure`."""
    return find_measure(user=counselor, key=key, field="measure")


@use_case
def assign(
    *,
    couple: Any,
    counselor: User,
    measure: str,
    partners: str | list[str],
    frequency: str,
    local_time: str,
    weekday: str | None = None,
) -> MeasureAssignment:
    """A linked counselor asks one or both partners to answer a measure, once or repeatedly,
    each at their own local time. The tick opens each occurrence."""
    couples.require_active(couple)
    chosen = assignable_measure(counselor=counselor, key=measure)
    members = couple.member_ids()
    if partners == "both":
        user_ids = members
    elif (
        not isinstance(partners, list)
        or not partners
        or len(set(partners)) != len(partners)
        or not set(partners) <= set(members)
    ):
        raise Invalid.field("partners", 'Give "both", or the ids of partners of this couple.')
    else:
        user_ids = [uid for uid in members if uid in partners]
    now = clock.now()
    assignment = MeasureAssignment(
        couple_id=couple.id,
        counselor_id=counselor.id,
        measure_id=chosen.id,
        frequency=frequency,
        local_time=local_time,
        window_hours=WINDOW_HOURS[frequency],
        status="active",
    )
    timezones = couples.member_timezones(couple)
    for user_id in user_ids:
        due, day = first_occurrence(
            local_time=local_time, timezone=timezones[user_id], weekday=weekday, after=now
        )
        assignment.partners.append(
            AssignedPartner(user_id=user_id, weekday=day, next_due_at=due, status="active")
        )
    db.session.add(assignment)
    return assignment


def assignments_of(*, couple: Any, counselor: User) -> list[MeasureAssignment]:
    """The assignments this counselor made for the couple, newest first."""
    return list(
        db.session.scalars(
            sa.select(MeasureAssignment)
            .where(
                MeasureAssignment.couple_id == couple.id,
                MeasureAssignment.counselor_id == counselor.id,
            )
            .order_by(MeasureAssignment.created_at.desc(), MeasureAssignment.id)
        )
    )


def assignment_of(assignment_id: str, counselor: User) -> MeasureAssignment:
    """An assignment the counselor made, for a couple still linked to them; 404 otherwise."""
    assignment = db.session.get(MeasureAssignment, assignment_id)
    if assignment is None or assignment.counselor_id != counselor.id:
        raise NotFound(NO_ASSIGNMENT)
    links = counseling.active_links_of(assignment.couple_id)
    if not any(link.counselor_id == counselor.id for link in links):
        raise NotFound(NO_ASSIGNMENT)
    return assignment


@use_case
def end_assignment(*, assignment: MeasureAssignment) -> None:
    """Stop an assignment: no more occurrences open. Those open stay their authors'."""
    if assignment.status == "ended":
        raise Conflict("This assignment has already ended.")
    _end(assignment, clock.now())


def _end(assignment: MeasureAssignment, when: datetime) -> None:
    assignment.status = "ended"
    assignment.ended_at = when
    for part in assignment.partners:
        if part.status == "active":
            part.status, part.next_due_at = "ended", None


@couples.on_couple_ended
def end_with_the_couple(couple: Any, when: datetime) -> None:
    """Assignments end with the couple (quietly); open responses stay their authors'."""
    for assignment in db.session.scalars(
        sa.select(MeasureAssignment).where(
            MeasureAssignment.couple_id == couple.id, MeasureAssignment.status == "active"
        )
    ):
        _end(assignment, when)


# --- export and erasure ---------------------------------------------------------------------


def responses_of(*, user: User) -> list[MeasureResponse]:
    """Every response of the person, oldest first (for their export)."""
    return list(
        db.session.scalars(
            sa.select(MeasureResponse)
            .where(MeasureResponse.user_id == user.id)
            .order_by(MeasureResponse.opened_at, MeasureResponse.id)
        )
    )


def sharing_choices_of(*, user: User) -> list[MeasureSharing]:
    """The person's sharing choices, one per counselor link (for their export)."""
    return list(
        db.session.scalars(sa.select(MeasureSharing).where(MeasureSharing.user_id == user.id))
    )


def erase_of(*, user: User, now: datetime) -> None:
    """Erasure: the user's responses, sharing choices and places in assignments go. A
    counselor's questionnaires stay (others' responses point at them); their assignments end."""
    db.session.execute(sa.delete(MeasureResponse).where(MeasureResponse.user_id == user.id))
    db.session.execute(sa.delete(MeasureSharing).where(MeasureSharing.user_id == user.id))
    db.session.execute(sa.delete(AssignedPartner).where(AssignedPartner.user_id == user.id))
    for assignment in db.session.scalars(
        sa.select(MeasureAssignment).where(
            MeasureAssignment.counselor_id == user.id, MeasureAssignment.status == "active"
        )
    ):
        _end(assignment, now)
