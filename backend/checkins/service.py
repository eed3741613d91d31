"""Check-ins: opening them, answering on one's own, revealing when both have submitted.

Who sees which answer is decided by one rule (`answer_visible_to`). The response schemas
(`backend.checkins.schemas`) ask `my_response`/`partner_response` what their viewer may see;
the API, the export and the counselor's views all dump check-ins through them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from backend import clock
from backend.accounts import service as accounts
from backend.checkins.answers import normalized, value_problem
from backend.checkins.library import notice_applies
from backend.checkins.models import (
    PROMPT_KINDS,  # noqa: F401  - named here for other domains' descriptions
    Answer,
    Checkin,
    CheckinItem,
    CheckinResponse,
    Prompt,
    PromptRevision,
    PromptSet,
)
from backend.couples import service as couples
from backend.database import claim, insert_rows, lock_rows, locking
from backend.errors import Conflict, Invalid
from backend.extensions import db
from backend.ids import new_id
from backend.notifications import service as notifications
from backend.pagination import Page, keyset_page
from backend.timeline import service as timeline
from backend.unit_of_work import use_case

RevealedHook = Callable[[Checkin], None]
_revealed_hooks: list[RevealedHook] = []


def on_checkin_revealed(hook: RevealedHook) -> RevealedHook:
    """Register what follows a reveal (e.g. an exercise completing), in the same transaction."""
    _revealed_hooks.append(hook)
    return hook


# A check-in opened by hand stays open this long; scheduled ones use their schedule's window.
MANUAL_WINDOW = timedelta(days=7)
# One gentle reminder, a day before a check-in opened by hand closes.
MANUAL_REMINDER_BEFORE_CLOSE = timedelta(days=1)


def list_prompts(*, category: str | None = None) -> list[PromptRevision]:
    """The current wording of every prompt in use, optionally of one category."""
    statement = (
        sa.select(PromptRevision)
        .join(Prompt, Prompt.id == PromptRevision.prompt_id)
        .where(Prompt.retired_at.is_(None), PromptRevision.revision == Prompt.current_revision)
        .order_by(Prompt.category, Prompt.key)
    )
    if category:
        statement = statement.where(Prompt.category == category)
    return list(db.session.scalars(statement))


def list_prompt_sets() -> list[PromptSet]:
    """Every prompt set in use."""
    return list(
        db.session.scalars(
            sa.select(PromptSet).where(PromptSet.retired_at.is_(None)).order_by(PromptSet.key)
        )
    )


def find_prompt_set(key: str, *, field: str = "prompt_set") -> PromptSet:
    """A prompt set in use, by key; 422 naming `field` if there is none."""
    prompt_set = db.session.scalar(
        sa.select(PromptSet).where(PromptSet.key == key, PromptSet.retired_at.is_(None))
    )
    if prompt_set is None:
        raise Invalid.field(field, "There is no prompt set with this key. See GET /prompt-sets.")
    return prompt_set


def _current_revisions(prompt_set: PromptSet) -> list[PromptRevision]:
    ids = [item.prompt_id for item in prompt_set.items]
    revisions = db.session.scalars(
        sa.select(PromptRevision)
        .join(Prompt, Prompt.id == PromptRevision.prompt_id)
        .where(Prompt.id.in_(ids), PromptRevision.revision == Prompt.current_revision)
    )
    by_prompt = {r.prompt_id: r for r in revisions}
    return [by_prompt[prompt_id] for prompt_id in ids]


@dataclass(frozen=True)
class SetSnapshot:
    """What opening a check-in needs of a prompt set: its title and current revisions."""

    key: str
    title: str
    revision_ids: tuple[str, ...]


def snapshot_prompt_set(key: str, cache: dict[str, SetSnapshot] | None = None) -> SetSnapshot:
    """The prompt set as a check-in opened now would ask it (memoized in `cache`)."""
    if cache is not None and key in cache:
        return cache[key]
    prompt_set = find_prompt_set(key)
    snapshot = SetSnapshot(
        key=prompt_set.key,
        title=prompt_set.title,
        revision_ids=tuple(r.id for r in _current_revisions(prompt_set)),
    )
    if cache is not None:
        cache[key] = snapshot
    return snapshot


@dataclass(frozen=True)
class Opening:
    """One check-in to open (or, with `missed`, an occurrence to record as missed)."""

    couple_id: str
    member_ids: tuple[str, ...]
    prompt_set_key: str
    closes_at: datetime
    source: str = "manual"
    opened_by_id: str | None = None
    opened_by_name: str | None = None
    remind_at: datetime | None = None
    schedule_id: str | None = None
    due_at: datetime | None = None
    missed: bool = False


@dataclass
class _OpeningRows:
    """What a bulk opening inserts, table by table, in the order the rows must be inserted."""

    checkins: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def store(self) -> None:
        """Insert them, one statement per table."""
        for model, batch in (
            (Checkin, self.checkins),
            (CheckinItem, self.items),
            (CheckinResponse, self.responses),
        ):
            insert_rows(db.session, model, batch)
        timeline.store_rows(self.events)
        notifications.store_rows(self.notifications)


def scheduled_occurrences(schedule_ids: list[str], *, since: datetime) -> set[tuple[str, datetime]]:
    """(schedule id, due time) of the check-ins these schedules opened for occurrences due at
    or after `since` (served by the unique key on the two)."""
    rows = db.session.execute(
        sa.select(Checkin.schedule_id, Checkin.due_at).where(
            Checkin.schedule_id.in_(schedule_ids), Checkin.due_at >= since
        )
    )
    return {(schedule_id, due_at) for schedule_id, due_at in rows}


def open_checkins(
    openings: list[Opening], *, cache: dict[str, SetSnapshot] | None = None
) -> list[str]:
    """Open check-ins in bulk, each with its prompts frozen, its timeline event and its
    notifications, in the caller's transaction (the tick's, or `open_checkin`'s). Every
    check-in is opened through here."""
    now = clock.now()
    cache = {} if cache is None else cache
    rows = _OpeningRows()
    ids = []
    for opening in openings:
        prompt_set = snapshot_prompt_set(opening.prompt_set_key, cache)
        checkin_id = new_id()
        ids.append(checkin_id)
        rows.checkins.append(_checkin_row(checkin_id, opening, prompt_set, now))
        if opening.missed:
            rows.events.append(
                timeline.event_row(
                    couple_id=opening.couple_id,
                    kind="checkin_missed",
                    subject=("checkin", checkin_id),
                    summary=f"{prompt_set.title} could not be opened in time and was skipped.",
                )
            )
        else:
            _add_opened(rows, checkin_id, opening, prompt_set, now)
    rows.store()
    return ids


def _checkin_row(
    checkin_id: str, opening: Opening, prompt_set: SetSnapshot, now: datetime
) -> dict[str, Any]:
    """The check-in's own row (a missed occurrence is recorded closed, at its due time)."""
    return {
        "id": checkin_id,
        "couple_id": opening.couple_id,
        "prompt_set_key": prompt_set.key,
        "title": prompt_set.title,
        "source": opening.source,
        "status": "missed" if opening.missed else "open",
        "opened_by_id": opening.opened_by_id,
        "opened_at": opening.due_at if opening.missed else now,
        "closes_at": opening.closes_at,
        "closed_at": now if opening.missed else None,
        "remind_at": opening.remind_at,
        "schedule_id": opening.schedule_id,
        "due_at": opening.due_at,
        "revealed_at": None,
    }


def _add_opened(
    rows: _OpeningRows, checkin_id: str, opening: Opening, prompt_set: SetSnapshot, now: datetime
) -> None:
    """An opened check-in's prompts, an empty response per partner, its timeline event and
    the notice to each partner who did not open it."""
    subject = ("checkin", checkin_id)
    rows.items.extend(
        {"checkin_id": checkin_id, "position": n, "prompt_revision_id": revision_id}
        for n, revision_id in enumerate(prompt_set.revision_ids)
    )
    rows.responses.extend(
        {
            "id": new_id(),
            "checkin_id": checkin_id,
            "user_id": uid,
            "submitted_at": None,
            "reminded_at": None,
            "updated_at": now,
        }
        for uid in opening.member_ids
    )
    who = opening.opened_by_name or "Your schedule"
    rows.events.append(
        timeline.event_row(
            couple_id=opening.couple_id,
            kind="checkin_opened",
            actor_id=opening.opened_by_id,
            subject=subject,
            summary=f"{who} opened a check-in: {prompt_set.title}.",
        )
    )
    rows.notifications.extend(
        notifications.notification_rows(
            user_ids=[uid for uid in opening.member_ids if uid != opening.opened_by_id],
            couple_id=opening.couple_id,
            kind="checkin_opened",
            title="A check-in is waiting",
            body=f"{prompt_set.title}: answer on your own; you'll see each other's answers "
            "once you both have.",
            subject=subject,
        )
    )


@use_case
def open_checkin(
    *,
    couple: Any,
    prompt_set_key: str,
    opened_by: Any | None,
    source: str = "manual",
    closes_at: datetime | None = None,
) -> Checkin:
    """Open a check-in now (by a partner, or for an exercise); the partners are told."""
    couples.require_active(couple)
    closes_at = closes_at or clock.now() + MANUAL_WINDOW
    [checkin_id] = open_checkins(
        [
            Opening(
                couple_id=couple.id,
                member_ids=tuple(couple.member_ids()),
                prompt_set_key=prompt_set_key,
                closes_at=closes_at,
                source=source,
                opened_by_id=opened_by.id if opened_by else None,
                opened_by_name=opened_by.display_name if opened_by else "Your counselor",
                remind_at=closes_at - MANUAL_REMINDER_BEFORE_CLOSE,
            )
        ]
    )
    return db.session.get(Checkin, checkin_id)


# The check-in held, with its items in the same query (they never change once it opened), and
# its responses in one more, after the lock: a row joined to the locked one is read as it was
# before the wait (PostgreSQL re-reads only the locked row), and a response's submission
# changes under this lock. No answers: the caller's are replaced without being read
# (`_replace_answers`), and the partner's are read only once the check-in is revealed, when the
# reveal reads the check-in again. Built once (see `database.locking`).
_LOCKED_CHECKIN = locking(
    sa.select(Checkin)
    .where(Checkin.id == sa.bindparam("checkin_id"))
    .options(
        joinedload(Checkin.items),
        selectinload(Checkin.responses).lazyload(CheckinResponse.answers),
    ),
    of=Checkin,
)


def _lock(checkin: Checkin) -> Checkin:
    """Re-read the check-in holding it, so two submissions take turns."""
    params = {"checkin_id": checkin.id}
    return lock_rows(_LOCKED_CHECKIN, Checkin.__table__, db.session, params).unique().one()


def ensure_open(checkin: Checkin, now: datetime) -> None:
    """409 unless answers can still be given."""
    if checkin.status != "open" or checkin.closes_at <= now:
        raise Conflict("This check-in is closed; answers can no longer be changed.")


# The answers and the response are written with the tables' statements, and the objects loaded
# are told what was written (`set_committed_value`), so the answer is dumped from them without
# reading again and without the ORM's unit of work for three rows (a reveal reads again).
@use_case(expire_on_commit=False)
def save_answers(
    *, checkin: Checkin, user: Any, answers: list[dict[str, Any]], submit: bool
) -> Checkin:
    """Replace my answers; with `submit` they are final, and when both have submitted, revealed."""
    couples.require_active(couples.couple_by_id(checkin.couple_id))
    checkin = _lock(checkin)
    now = clock.now()
    ensure_open(checkin, now)
    response = checkin.response_of(user.id)
    if response is None:  # pragma: no cover - every member gets a response when it opens
        raise Conflict("You are not part of this check-in.")
    if response.submitted_at is not None:
        raise Conflict("You have already submitted your answers to this check-in.")
    prompts = {item.prompt.key: item for item in checkin.items}
    _refuse_misfits(prompts, answers, submit=submit)
    _replace_answers(response, prompts, answers)
    changes = {"updated_at": now, "submitted_at": now if submit else None}
    db.session.execute(_UPDATE_RESPONSE, {"response_id": response.id, **changes})
    for key, value in changes.items():
        set_committed_value(response, key, value)
    if submit:
        reveal_if_both_submitted(checkin=checkin, now=now)
    return checkin


_DELETE_ANSWERS = sa.delete(Answer.__table__).where(
    Answer.__table__.c.response_id == sa.bindparam("response_id")
)
_UPDATE_RESPONSE = (
    sa.update(CheckinResponse.__table__)
    .where(CheckinResponse.__table__.c.id == sa.bindparam("response_id"))
    .values(updated_at=sa.bindparam("updated_at"), submitted_at=sa.bindparam("submitted_at"))
)


def _refuse_misfits(
    prompts: dict[str, CheckinItem], answers: list[dict[str, Any]], *, submit: bool
) -> None:
    """422 naming every answer that does not fit its prompt (or a submission with none)."""
    errors: dict[str, list[str]] = {}
    seen: set[str] = set()
    for n, answer in enumerate(answers):
        key = answer["prompt"]
        item = prompts.get(key)
        if item is None:
            errors[f"answers.{n}.prompt"] = ["This is not a prompt of this check-in."]
        elif key in seen:
            errors[f"answers.{key}"] = ["This prompt is answered twice."]
        elif problem := value_problem(item.prompt, answer["value"]):
            errors[f"answers.{key}"] = [problem]
        seen.add(key)
    if submit and not answers:
        errors["answers"] = ["Answer at least one prompt before submitting."]
    if errors:
        raise Invalid("Some answers do not fit their prompts.", errors=errors)


def _replace_answers(
    response: CheckinResponse, prompts: dict[str, CheckinItem], answers: list[dict[str, Any]]
) -> None:
    """Put these answers in place of the response's earlier ones (which are not read)."""
    db.session.execute(_DELETE_ANSWERS, {"response_id": response.id})
    rows: list[dict[str, Any]] = []
    written: list[Answer] = []
    # In the order the relationship reads them (by position): the answer is dumped from these.
    for answer in sorted(answers, key=lambda answer: prompts[answer["prompt"]].position):
        item = prompts[answer["prompt"]]
        row = {
            "id": new_id(),
            "response_id": response.id,
            "prompt_revision_id": item.prompt_revision_id,
            "position": item.position,
            "value": normalized(item.prompt, answer["value"]),
            # Left out, the prompt decides: some default to private, so that an answer a
            # controlling partner would watch isn't shared because nobody chose otherwise.
            "visibility": answer.get("visibility")
            or item.prompt.config.get("default_visibility", "shared"),
        }
        rows.append(row)
        written.append(Answer(**row, prompt=item.prompt))  # as written; never added to the session
    insert_rows(db.session, Answer, rows)
    set_committed_value(response, "answers", written)


def safety_messages(*, checkin: Checkin, user: Any) -> list[str]:
    """The private safety messages the author's own saved answers call for, by their prompts."""
    response = checkin.response_of(user.id)
    messages: list[str] = []
    for answer in response.answers if response else ():
        config = answer.prompt.config
        if notice_applies(config, answer.value):
            message = config["safety_notice"]["message"]
            if message not in messages:
                messages.append(message)
    return messages


def reveal_if_both_submitted(*, checkin: Checkin, now: datetime) -> bool:
    """Reveal once both partners submitted. Exactly one of two racing submissions reveals."""
    submitted = (
        sa.select(sa.func.count())
        .select_from(CheckinResponse)
        .where(CheckinResponse.checkin_id == checkin.id, CheckinResponse.submitted_at.is_not(None))
        .scalar_subquery()
    )
    total = (
        sa.select(sa.func.count())
        .select_from(CheckinResponse)
        .where(CheckinResponse.checkin_id == checkin.id)
        .scalar_subquery()
    )
    revealed = claim(
        db.session,
        sa.update(Checkin)
        .where(Checkin.id == checkin.id, Checkin.status == "open", submitted == total)
        .values(status="revealed", revealed_at=now),
    )
    if not revealed:
        return False
    db.session.refresh(checkin)
    for hook in _revealed_hooks:
        hook(checkin)
    timeline.announce(
        couple_id=checkin.couple_id,
        kind="checkin_revealed",
        subject=("checkin", checkin.id),
        summary=f"You both answered: {checkin.title}.",
        tell=[r.user_id for r in checkin.responses],
        title="You both answered",
        body=f"{checkin.title}: your answers are ready to read together.",
    )
    return True


def list_checkins(
    *, couple: Any, limit: int, cursor: str | None, status: str | None = None
) -> Page[Checkin]:
    """A page of the couple's check-ins, newest first."""
    statement = sa.select(Checkin).where(Checkin.couple_id == couple.id)
    if status:
        statement = statement.where(Checkin.status == status)
    return keyset_page(
        statement,
        moment_column=Checkin.opened_at,
        id_column=Checkin.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def status_counts(
    couple_ids: list[str], *, statuses: tuple[str, ...], opened_since: datetime
) -> dict[str, dict[str, int]]:
    """How many check-ins opened since then each couple has in each of these statuses, in one
    query (a counselor's progress summary: counts, never content)."""
    counts: dict[str, dict[str, int]] = {couple_id: {} for couple_id in couple_ids}
    for couple_id, status, count in db.session.execute(
        sa.select(Checkin.couple_id, Checkin.status, sa.func.count())
        .where(
            Checkin.couple_id.in_(couple_ids),
            Checkin.status.in_(statuses),
            Checkin.opened_at >= opened_since,
        )
        .group_by(Checkin.couple_id, Checkin.status)
    ):
        counts[couple_id][status] = count
    return counts


def revealed_checkins(*, couple_id: str, limit: int) -> list[Checkin]:
    """The couple's newest revealed check-ins, newest first."""
    return list(
        db.session.scalars(
            sa.select(Checkin)
            .where(Checkin.couple_id == couple_id, Checkin.revealed_at.is_not(None))
            .order_by(Checkin.opened_at.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class TrendPoint:
    """One rating."""

    checkin_id: str
    at: datetime
    value: int


@dataclass(frozen=True)
class TrendSeries:
    """One partner's ratings, as the viewer may see them."""

    user_id: str
    display_name: str | None
    is_me: bool
    points: list[TrendPoint]


@dataclass(frozen=True)
class Trends:
    """Ratings of one scale prompt over time, per partner (the viewer's own first)."""

    prompt: PromptRevision
    series: list[TrendSeries]


def trends(*, couple: Any, viewer: Any | None, prompt_key: str, since: datetime | None) -> Trends:
    """Per partner, the ratings given to a scale prompt: mine always, my partner's only where
    shared and revealed. With no viewer (a counselor), only shared and revealed ones."""
    viewer_id = viewer.id if viewer else None
    prompt = db.session.scalar(sa.select(Prompt).where(Prompt.key == prompt_key))
    current = prompt and db.session.scalar(
        sa.select(PromptRevision).where(
            PromptRevision.prompt_id == prompt.id,
            PromptRevision.revision == prompt.current_revision,
        )
    )
    if current is None or current.kind != "scale":
        raise Invalid.field("prompt", "Choose a rating (scale) prompt; see GET /prompts.")
    statement = (
        sa.select(CheckinResponse.user_id, Checkin, Answer)
        .join(Answer, Answer.response_id == CheckinResponse.id)
        .join(Checkin, Checkin.id == CheckinResponse.checkin_id)
        .join(PromptRevision, PromptRevision.id == Answer.prompt_revision_id)
        .where(
            Checkin.couple_id == couple.id,
            PromptRevision.prompt_id == prompt.id,
            PromptRevision.kind == "scale",
            CheckinResponse.submitted_at.is_not(None),
        )
        .order_by(Checkin.opened_at, Checkin.id)
    )
    if since is not None:
        statement = statement.where(Checkin.opened_at >= since)
    points: dict[str, list[TrendPoint]] = {uid: [] for uid in couple.member_ids()}
    for user_id, checkin, answer in db.session.execute(statement):
        # the same rule as every other view of an answer
        if answer_visible_to(answer, author_id=user_id, viewer_id=viewer_id, checkin=checkin):
            points.setdefault(user_id, []).append(
                TrendPoint(checkin.id, checkin.opened_at, answer.value)
            )
    names = couples.member_names(couple)
    ordered = sorted(points, key=lambda uid: uid != viewer_id)
    return Trends(
        prompt=current,
        series=[
            TrendSeries(
                user_id=uid, display_name=names.get(uid), is_me=uid == viewer_id, points=points[uid]
            )
            for uid in ordered
        ],
    )


def answer_visible_to(
    answer: Answer, *, author_id: str, viewer_id: str | None, checkin: Checkin
) -> bool:
    """The one rule: the author sees every answer; others see shared ones once revealed."""
    if author_id == viewer_id:
        return True
    return answer.visibility == "shared" and checkin.revealed_at is not None


def answers_seen_by(
    response: CheckinResponse | None, *, viewer_id: str | None, checkin: Checkin
) -> list[Answer]:
    """A response's answers that `viewer_id` may see, by the one rule above."""
    if response is None:
        return []
    return [
        a
        for a in response.answers
        if answer_visible_to(a, author_id=response.user_id, viewer_id=viewer_id, checkin=checkin)
    ]


def visible_answers(
    response: CheckinResponse | None, *, viewer_id: str, checkin: Checkin
) -> list[dict[str, Any]]:
    """The answers of `answers_seen_by` as plain fields (for views built outside the schemas:
    a counselor's shared check-ins, the export)."""
    return [
        _answer_fields(a) for a in answers_seen_by(response, viewer_id=viewer_id, checkin=checkin)
    ]


def _answer_fields(answer: Answer) -> dict[str, Any]:
    return {"prompt": answer.prompt.key, "value": answer.value, "visibility": answer.visibility}


@dataclass(frozen=True)
class SeenResponse:
    """A partner's response as one viewer may see it: the answers the one rule lets through
    (`answers` is None for another's response until the check-in is revealed)."""

    user_id: str
    submitted_at: datetime | None
    answers: list[Answer] | None
    display_name: str | None = None

    @property
    def submitted(self) -> bool:
        """Whether its author submitted it."""
        return self.submitted_at is not None


def my_response(checkin: Checkin, viewer_id: str) -> SeenResponse:
    """The viewer's own response: every answer they gave, private ones included."""
    mine = checkin.response_of(viewer_id)
    return SeenResponse(
        user_id=viewer_id,
        submitted_at=mine.submitted_at if mine else None,
        answers=answers_seen_by(mine, viewer_id=viewer_id, checkin=checkin),
    )


def partner_response(checkin: Checkin, viewer_id: str) -> SeenResponse | None:
    """The partner's response: whether they submitted, and their shared answers once the
    check-in is revealed (never before, never a private one)."""
    partner = checkin.other_response(viewer_id)
    if partner is None:
        return None
    couple = couples.couple_by_id(checkin.couple_id)
    return SeenResponse(
        user_id=partner.user_id,
        submitted_at=partner.submitted_at,
        answers=answers_seen_by(partner, viewer_id=viewer_id, checkin=checkin)
        if checkin.revealed_at
        else None,
        display_name=couples.member_names(couple).get(partner.user_id, couples.FORMER_PARTNER),
    )


def has_submitted(response: CheckinResponse | None) -> bool:
    """Whether this response (if any) is submitted."""
    return bool(response and response.submitted_at)


@use_case
def close_expired(*, now: datetime, limit: int) -> int:
    """Close open check-ins whose window ended; note who did not answer. Returns how many."""
    statement = (
        sa.select(Checkin)
        .where(Checkin.status == "open", Checkin.closes_at <= now)
        .order_by(Checkin.closes_at)
        .limit(limit)
    )
    closed = 0
    for checkin in lock_rows(statement, Checkin.__table__, db.session, skip_locked=True).all():
        done = claim(
            db.session,
            sa.update(Checkin)
            .where(Checkin.id == checkin.id, Checkin.status == "open")
            .values(status="expired", closed_at=now),
        )
        if not done:
            continue
        closed += 1
        silent = [r.user_id for r in checkin.responses if r.submitted_at is None]
        # Only someone who still has an account is named.
        names = accounts.display_names(silent)
        for user_id in silent:
            if user_id in names:
                timeline.record(
                    couple_id=checkin.couple_id,
                    kind="checkin_missed",
                    actor_id=user_id,
                    subject=("checkin", checkin.id),
                    summary=f"{checkin.title} closed without {names[user_id]}'s answers.",
                )
    return closed


@use_case
def send_reminders(*, now: datetime, limit: int) -> int:
    """Remind each partner who has not answered, once per check-in. Returns how many."""
    rows = db.session.execute(
        sa.select(CheckinResponse.id, CheckinResponse.user_id, Checkin)
        .join(Checkin, Checkin.id == CheckinResponse.checkin_id)
        .where(
            Checkin.status == "open",
            Checkin.remind_at <= now,
            Checkin.closes_at > now,
            CheckinResponse.submitted_at.is_(None),
            CheckinResponse.reminded_at.is_(None),
        )
        .limit(limit)
    ).all()
    sent = 0
    for response_id, user_id, checkin in rows:
        claimed = claim(
            db.session,
            sa.update(CheckinResponse)
            .where(CheckinResponse.id == response_id, CheckinResponse.reminded_at.is_(None))
            .values(reminded_at=now),
        )
        if not claimed:
            continue
        sent += 1
        notifications.notify(
            user_ids=[user_id],
            couple_id=checkin.couple_id,
            kind="checkin_reminder",
            title="Your check-in is still open",
            body=f"{checkin.title} is open until it closes; answer whenever you are ready.",
            subject=("checkin", checkin.id),
        )
    return sent


@couples.on_couple_ended
def close_with_the_couple(couple: Any, when: datetime) -> None:
    """Open check-ins close with the couple, quietly: no reminders, nothing missed."""
    db.session.execute(
        sa.update(Checkin)
        .where(Checkin.couple_id == couple.id, Checkin.status == "open")
        .values(status="expired", closed_at=when)
    )
