"""Counseling: linking a counselor with both partners' consent, exercises, progress views.

A counselor widens who sees the couple's data, so linking needs both partners, each with a
recent password login; either partner (or the counselor) ends it at once. Scope `progress`
shows how things go (completion, statuses, the timeline); `shared_content` adds shared check-in
answers once revealed and conversation entries. Private answers and journals: never.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend import clock, codes
from backend.accounts import service as accounts
from backend.agreements import service as agreements
from backend.checkins import service as checkins
from backend.conversations import service as conversations
from backend.counseling.models import (
    CounselorLink,
    CounselorLinkCode,
    Exercise,
    ExerciseParticipant,
)
from backend.couples import service as couples
from backend.couples.service import require_active
from backend.database import claim
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.notifications import service as notifications
from backend.timeline import service as timeline
from backend.unit_of_work import use_case

if TYPE_CHECKING:
    # Who acts and on which couple: every signature here names them; nothing reads their
    # tables (the accounts and couples services do).
    from backend.accounts.service import User
    from backend.couples.service import Couple

CODE_LIFETIME = timedelta(days=7)
WRONG_CODES = codes.WrongCodes("counselor-code")
UNKNOWN_CODE = "This code is unknown, already used or expired. Ask your counselor for a new one."
COUNSELORS_ONLY = "Link codes are made by counselors."


NOT_LINKED = "There is no couple with this id that you are linked to."


def active_link(counselor: User, couple_id: str) -> CounselorLink:
    """The counselor's active link to this couple; 404 if there is none."""
    link = db.session.scalar(
        sa.select(CounselorLink).where(
            CounselorLink.couple_id == couple_id,
            CounselorLink.counselor_id == counselor.id,
            CounselorLink.status == "active",
        )
    )
    if link is None:
        raise NotFound(NOT_LINKED)
    return link


def linked_couple(counselor: User, couple_id: str) -> tuple[Couple, CounselorLink]:
    """The couple and the counselor's active link to it; 404 if there is none."""
    link = active_link(counselor, couple_id)
    return couples.couple_by_id(link.couple_id), link


def link_of_caller(link_id: str, user: User) -> CounselorLink:
    """A link the caller is part of: a partner of its couple, or its counselor; else 404."""
    link = db.session.get(CounselorLink, link_id)
    if link is None:
        raise NotFound("There is no link with this id that you can see.")
    if link.counselor_id == user.id:
        return link
    if not couples.is_or_was_member(link.couple_id, user.id):
        raise NotFound("There is no link with this id that you can see.")
    return link


def _name(user_id: str | None) -> str:
    return accounts.display_name(user_id, missing="Former partner")


def counselor_person(counselor_id: str, *, names: dict[str, str] | None = None) -> dict[str, Any]:
    """A counselor as links and exercises show them (`names`: names found already)."""
    return {
        "id": counselor_id,
        "display_name": (names or {}).get(counselor_id) or _name(counselor_id),
    }


def partner(couple_id: str, user_id: str | None) -> dict[str, Any]:
    """A partner as the couple's views show them: once the couple ended, as they were then."""
    names = couples.member_names(couples.couple_by_id(couple_id))
    return {"id": user_id, "display_name": names.get(user_id, couples.FORMER_PARTNER)}


@use_case
def create_link_code(*, counselor: User) -> tuple[str, datetime]:
    """A single-use code the counselor gives a couple; valid 7 days."""
    if counselor.role != "counselor":
        raise NotFound(COUNSELORS_ONLY)
    code = codes.generate()
    expires_at = clock.now() + CODE_LIFETIME
    db.session.add(
        CounselorLinkCode(
            counselor_id=counselor.id, code_hash=codes.hash_code(code), expires_at=expires_at
        )
    )
    return code, expires_at


@use_case
def propose_link(
    *, couple: Couple, user: User, code: str, scope: str, session_id: str | None = None
) -> CounselorLink:
    """One partner proposes linking the counselor whose code this is; the other must consent."""
    require_active(couple)
    now = clock.now()
    link_code = codes.find_unused(
        CounselorLinkCode, code, now=now, limit=WRONG_CODES, guesser=user.id, unknown=UNKNOWN_CODE
    )
    if not codes.claim_code(link_code, now=now):
        raise NotFound(UNKNOWN_CODE)
    link = CounselorLink(
        couple_id=couple.id,
        counselor_id=link_code.counselor_id,
        scope=scope,
        status="pending",
        proposed_by_id=user.id,
        proposed_at=now,
    )
    db.session.add(link)
    try:
        db.session.flush()
    except sa.exc.IntegrityError as exc:
        raise Conflict("This counselor is already linked (or waiting for consent).") from exc
    counselor = _name(link.counselor_id)
    timeline.announce(
        couple_id=couple.id,
        kind="counselor_link_proposed",
        actor_id=user.id,
        subject=("counselor_link", link.id),
        summary=f"{user.display_name} proposed linking counselor {counselor}.",
        tell=[couple.partner_of(user.id)],
        title="Link a counselor?",
        body=f"{user.display_name} proposed linking counselor {counselor}. Nothing is shared "
        "unless you agree too.",
    )
    _record(user, "counselor_link_proposed", link, session_id)
    return link


@use_case
def consent_link(
    *, link: CounselorLink, user: User, session_id: str | None = None
) -> CounselorLink:
    """The other partner consents; only now does the counselor see the couple."""
    couple = couples.couple_by_id(link.couple_id)
    require_active(couple)
    if user.id not in couple.member_ids():
        raise NotFound("There is no link with this id that you can see.")
    if link.status != "pending":
        raise Conflict(f"This link is {link.status}.")
    if link.proposed_by_id == user.id:
        raise Conflict("You proposed this link; it waits for your partner's consent.")
    link.status = "active"
    link.consented_by_id = user.id
    link.activated_at = clock.now()
    counselor = _name(link.counselor_id)
    timeline.announce(
        couple_id=couple.id,
        kind="counselor_linked",
        actor_id=user.id,
        subject=("counselor_link", link.id),
        summary=f"You both linked counselor {counselor}.",
        tell=[*couple.member_ids(), link.counselor_id],
        title="Counselor linked",
        body=f"Counselor {counselor} is now linked ({link.scope.replace('_', ' ')}). Either "
        "partner can end this at any time.",
    )
    _record(user, "counselor_link_consented", link, session_id)
    return link


def _record(user: User, kind: str, link: CounselorLink, session_id: str | None) -> None:
    """Add a counselor-link event to the acting person's own account activity."""
    accounts.record_activity(
        user_id=user.id,
        kind=kind,
        session_id=session_id,
        details={"counselor_link_id": link.id, "scope": link.scope},
    )


@use_case
def end_link(*, link: CounselorLink, user: User, session_id: str | None = None) -> None:
    """Either partner or the counselor ends the link at once; both partners are told."""
    if link.status in ("revoked", "ended"):
        raise Conflict("This link has already ended.")
    _record(user, "counselor_link_ended", link, session_id)
    couple = couples.couple_by_id(link.couple_id)
    link.status = "revoked"
    link.ended_at = clock.now()
    link.ended_by_id = user.id
    # What this counselor assigned and is still open goes with the link: nothing more of the
    # couple reaches them, not even "an exercise was completed".
    db.session.execute(
        sa.update(Exercise)
        .where(
            Exercise.couple_id == couple.id,
            Exercise.counselor_id == link.counselor_id,
            Exercise.status == "open",
        )
        .values(status="cancelled")
    )
    if user.id == link.counselor_id:
        _tell_counselor_ended(couple, link)
    else:
        _tell_partner_ended(couple, link, user)


def _tell_counselor_ended(couple: Couple, link: CounselorLink) -> None:
    """The counselor ended the link: the timeline says so, and both partners are told."""
    what = f"Counselor {_name(link.counselor_id)} ended the link."
    timeline.announce(
        couple_id=couple.id,
        kind="counselor_link_ended",
        actor_id=link.counselor_id,
        subject=("counselor_link", link.id),
        summary=what,
        tell=couple.member_ids(),
        title="Counselor link ended",
        body=f"{what} They no longer see anything of the couple.",
    )


def _tell_partner_ended(couple: Couple, link: CounselorLink, user: User) -> None:
    """A partner ended the link: both partners are told who, the counselor only that it ended.

    The counselor must not learn which partner revoked: the one who did may be the one at
    risk, and a counselor who knew could tell the other. The timeline (which a counselor
    linked again later reads) names no one either. Between the two partners a name hides
    nothing (the one who did not revoke knows it was the other), so their notice says it.
    """
    counselor = _name(link.counselor_id)
    subject = ("counselor_link", link.id)
    timeline.record(
        couple_id=couple.id,
        kind="counselor_link_ended",
        actor_id=None,
        subject=subject,
        summary=f"The link with counselor {counselor} was ended.",
    )
    notifications.notify(
        user_ids=couple.member_ids(),
        couple_id=couple.id,
        kind="counselor_link_ended",
        title="Counselor link ended",
        body=f"{user.display_name} ended the link with counselor {counselor}. They no longer "
        "see anything of the couple.",
        subject=subject,
    )
    notifications.notify(
        user_ids=[link.counselor_id],
        couple_id=couple.id,
        kind="counselor_link_ended",
        title="Counselor link ended",
        body="A couple ended their link with you. You no longer see anything of that couple.",
        subject=subject,
    )


def links_of(couple: Couple) -> list[CounselorLink]:
    """The couple's counselor links, newest first."""
    return list(
        db.session.scalars(
            sa.select(CounselorLink)
            .where(CounselorLink.couple_id == couple.id)
            .order_by(CounselorLink.proposed_at.desc(), CounselorLink.id)
        )
    )


def active_links_of(couple_id: str) -> list[CounselorLink]:
    """The couple's active counselor links, the longest-standing first."""
    return list(
        db.session.scalars(
            sa.select(CounselorLink)
            .where(CounselorLink.couple_id == couple_id, CounselorLink.status == "active")
            .order_by(CounselorLink.activated_at, CounselorLink.id)
        )
    )


def active_links_among(link_ids: Collection[str]) -> list[CounselorLink]:
    """Those of these links that are active (none asked: none, without a query)."""
    if not link_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(CounselorLink).where(
                CounselorLink.id.in_(list(link_ids)), CounselorLink.status == "active"
            )
        )
    )


def pending_links(*, counselor: User) -> list[CounselorLink]:
    """The counselor's links still waiting for the second partner's consent, newest first."""
    return list(
        db.session.scalars(
            sa.select(CounselorLink)
            .where(CounselorLink.counselor_id == counselor.id, CounselorLink.status == "pending")
            .order_by(CounselorLink.proposed_at.desc(), CounselorLink.id)
        )
    )


@use_case
def mark_visited(*, link: CounselorLink) -> None:
    """Note that the counselor opened the couple now (the console's "since your last visit")."""
    link.counselor_visited_at = clock.now()


# --- exercises -----------------------------------------------------------------------------


@use_case
def assign_exercise(
    *,
    couple: Couple,
    counselor: User,
    kind: str,
    template: str | None,
    instructions: str,
    prompts: list[str],
    due_on: date | None,
) -> Exercise:
    """A counselor assigns an exercise; a check-in exercise opens its check-in now."""
    require_active(couple)
    _check_exercise(
        couple,
        kind=kind,
        template=template,
        instructions=instructions,
        prompts=prompts,
        due_on=due_on,
    )
    exercise = Exercise(
        couple_id=couple.id,
        counselor_id=counselor.id,
        kind=kind,
        template=template,
        instructions=instructions,
        prompts=prompts,
        due_on=due_on,
        status="open",
    )
    exercise.participants = [ExerciseParticipant(user_id=uid) for uid in couple.member_ids()]
    db.session.add(exercise)
    if kind == "checkin":
        exercise.checkin_id = _open_exercise_checkin(couple, template=template, due_on=due_on)
    db.session.flush()
    timeline.announce(
        couple_id=couple.id,
        kind="exercise_assigned",
        actor_id=counselor.id,
        subject=("exercise", exercise.id),
        summary=f"Counselor {counselor.display_name} assigned an exercise.",
        tell=couple.member_ids(),
        title="A new exercise",
        body=f"Counselor {counselor.display_name} assigned an exercise"
        + (f", due {due_on.isoformat()}." if due_on else "."),
    )
    return exercise


def _check_exercise(
    couple: Couple,
    *,
    kind: str,
    template: str | None,
    instructions: str,
    prompts: list[str],
    due_on: date | None,
) -> None:
    """422 unless the exercise can be done: due from today on, and something to do."""
    today = clock.now().astimezone(ZoneInfo(couple.timezone)).date()
    if due_on is not None and due_on < today:
        raise Invalid.field("due_on", "Choose a due date from today on.")
    if kind == "checkin":
        if not template:
            raise Invalid.field("template", "Name the prompt set of the check-in.")
        checkins.find_prompt_set(template, field="template")
    elif kind == "conversation":
        if not template or conversations.template(template) is None:
            raise Invalid.field("template", "Name a conversation template.")
    elif not prompts and not instructions:
        raise Invalid.field("prompts", "Give the couple something to reflect on.")


def _open_exercise_checkin(couple: Couple, *, template: str, due_on: date | None) -> str:
    """Open the check-in of a check-in exercise, in the assignment's transaction: it closes at
    the end of the due day in the couple's time zone (or as a check-in opened now would)."""
    closes_at = None
    if due_on is not None:
        end_of_day = datetime.combine(due_on + timedelta(days=1), datetime.min.time())
        closes_at = end_of_day.replace(tzinfo=ZoneInfo(couple.timezone))
    checkin = checkins.open_checkin(
        couple=couple,
        prompt_set_key=template,
        opened_by=None,
        source="exercise",
        closes_at=closes_at,
    )
    return checkin.id


def _complete(exercise: Exercise, now: datetime) -> None:
    """Mark the exercise done (once), on the timeline and for the counselor."""
    done = claim(
        db.session,
        sa.update(Exercise)
        .where(Exercise.id == exercise.id, Exercise.status == "open")
        .values(status="completed", completed_at=now),
    )
    if not done:
        return
    timeline.record(
        couple_id=exercise.couple_id,
        kind="exercise_completed",
        subject=("exercise", exercise.id),
        summary="You completed an exercise your counselor assigned.",
    )
    if exercise.counselor_id and _linked(exercise.counselor_id, exercise.couple_id):
        notifications.notify(
            user_ids=[exercise.counselor_id],
            couple_id=exercise.couple_id,
            kind="exercise_completed",
            title="An exercise was completed",
            body="A couple you work with completed an exercise.",
            subject=("exercise", exercise.id),
        )


def _linked(counselor_id: str, couple_id: str) -> bool:
    """Whether the counselor's link to the couple is active."""
    return (
        db.session.scalar(
            sa.select(CounselorLink.id).where(
                CounselorLink.counselor_id == counselor_id,
                CounselorLink.couple_id == couple_id,
                CounselorLink.status == "active",
            )
        )
        is not None
    )


@use_case
def complete_part(*, exercise: Exercise, user: User) -> Exercise:
    """A partner marks their part done; with both parts done, the exercise is complete."""
    require_active(couples.couple_by_id(exercise.couple_id))
    if exercise.status != "open":
        raise Conflict(f"This exercise is {exercise.status}.")
    part = exercise.part_of(user.id)
    if part is None:  # pragma: no cover - every member gets a part when it is assigned
        raise NotFound("There is no exercise with this id that you can see.")
    if part.completed_at is not None:
        raise Conflict("You already marked your part done.")
    now = clock.now()
    part.completed_at = now
    db.session.flush()
    if all(p.completed_at for p in exercise.participants):
        _complete(exercise, now)
    db.session.refresh(exercise)  # `_complete` changed the row, not this object
    return exercise


@use_case
def start_conversation(*, exercise: Exercise, user: User, roles: dict[str, str]) -> Any:
    """Start the guided conversation of a conversation exercise (the Conversation)."""
    couple = couples.couple_by_id(exercise.couple_id)
    if exercise.kind != "conversation":
        raise Conflict("Only a conversation exercise starts a conversation.")
    if exercise.status != "open" or exercise.conversation_id is not None:
        raise Conflict("This exercise's conversation was already started.")
    conversation = conversations.start(
        couple=couple, user=user, template_key=exercise.template, roles=roles
    )
    exercise.conversation_id = conversation.id
    return conversation


def list_exercises(*, couple: Couple) -> list[Exercise]:
    """The couple's exercises, newest first."""
    return list(
        db.session.scalars(
            sa.select(Exercise)
            .where(Exercise.couple_id == couple.id)
            .order_by(Exercise.created_at.desc(), Exercise.id)
        )
    )


def remind_due_exercises(*, now: datetime) -> int:
    """Remind each partner once, the day before an exercise is due."""
    rows = db.session.execute(
        sa.select(ExerciseParticipant, Exercise)
        .join(Exercise, Exercise.id == ExerciseParticipant.exercise_id)
        .where(
            Exercise.status == "open",
            Exercise.due_on.is_not(None),
            Exercise.due_on <= (now + timedelta(days=2)).date(),
            ExerciseParticipant.completed_at.is_(None),
            ExerciseParticipant.reminded_at.is_(None),
        )
    ).all()
    sent = 0
    for part, exercise in rows:
        couple = couples.couple_by_id(exercise.couple_id)
        today = now.astimezone(ZoneInfo(couple.timezone)).date()
        if exercise.due_on - today > timedelta(days=1):
            continue
        claimed = claim(
            db.session,
            sa.update(ExerciseParticipant)
            .where(
                ExerciseParticipant.exercise_id == part.exercise_id,
                ExerciseParticipant.user_id == part.user_id,
                ExerciseParticipant.reminded_at.is_(None),
            )
            .values(reminded_at=now),
        )
        if not claimed:
            continue
        sent += 1
        notifications.notify(
            user_ids=[part.user_id],
            couple_id=exercise.couple_id,
            kind="exercise_due",
            title="An exercise is due soon",
            body=f"Your counselor's exercise is due {exercise.due_on.isoformat()}. Do what you "
            "can; it's fine to talk about it in your next session either way.",
            subject=("exercise", exercise.id),
        )
    return sent


# --- the counselor's views -----------------------------------------------------------------

# How much of the couple's history a counselor's view of one couple carries.
TIMELINE_EVENTS = 50
SHARED_CHECKINS = 20
CONVERSATIONS = 10


@dataclass(frozen=True)
class LinkedCouple:
    """A couple as its counselor sees it in a list: the couple, the link, and how they do
    (`progress`'s counts). `CoupleCardSchema` decides what of it is shown."""

    couple: Couple
    link: CounselorLink
    progress: dict[str, Any]


@dataclass(frozen=True)
class LinkedCoupleInScope(LinkedCouple):
    """One couple within the link's scope (`CoupleDetailSchema`): its timeline, exercises and
    trends; with scope `shared_content`, its revealed check-ins and conversations too (None
    otherwise), which the schema shows as this counselor may see them. Private answers and
    journals are never here."""

    timeline: list[Any]
    exercises: list[Exercise]
    trends: dict[str, Any] | None
    shared_checkins: list[Any] | None
    conversations: list[Any] | None


def progress(couple: Couple, *, now: datetime) -> dict[str, Any]:
    """How the couple is doing: counts and statuses, no content."""
    return progress_of([couple.id], now=now)[couple.id]


def progress_of(couple_ids: list[str], *, now: datetime) -> dict[str, dict[str, Any]]:
    """`progress` of each of these couples, in four grouped queries whatever their number."""
    if not couple_ids:
        return {}
    checkins_4w = checkins.status_counts(
        couple_ids,
        statuses=("revealed", "expired", "missed"),
        opened_since=now - timedelta(weeks=4),
    )
    open_exercises = dict(
        db.session.execute(
            sa.select(Exercise.couple_id, sa.func.count())
            .where(Exercise.couple_id.in_(couple_ids), Exercise.status == "open")
            .group_by(Exercise.couple_id)
        ).all()
    )
    agreement_statuses = agreements.status_counts(couple_ids)
    last_activity = timeline.last_activity(couple_ids)
    return {
        couple_id: {
            "checkins_completed_4w": checkins_4w[couple_id].get("revealed", 0),
            "checkins_missed_4w": checkins_4w[couple_id].get("expired", 0)
            + checkins_4w[couple_id].get("missed", 0),
            "open_exercises": open_exercises.get(couple_id, 0),
            "active_agreements": agreement_statuses[couple_id].get("active", 0),
            "agreements_by_status": agreement_statuses[couple_id],
            "last_activity": last_activity.get(couple_id),
        }
        for couple_id in couple_ids
    }


def linked_couple_card(couple: Couple, link: CounselorLink) -> LinkedCouple:
    """One linked couple as the counselor's list shows it, with its progress."""
    return LinkedCouple(couple=couple, link=link, progress=progress(couple, now=clock.now()))


def active_links(*, counselor: User) -> list[CounselorLink]:
    """The counselor's active links (one per couple they may see)."""
    return list(
        db.session.scalars(
            sa.select(CounselorLink).where(
                CounselorLink.counselor_id == counselor.id, CounselorLink.status == "active"
            )
        )
    )


def linked_couples(*, counselor: User) -> list[LinkedCouple]:
    """Every couple the counselor is actively linked to, with a progress summary."""
    links = active_links(counselor=counselor)
    ids = [link.couple_id for link in links]
    # The couples with their members, and every summary, in a few queries for the whole list.
    found = couples.couples_by_id(ids)
    summaries = progress_of(ids, now=clock.now())
    return [
        LinkedCouple(couple=found[link.couple_id], link=link, progress=summaries[link.couple_id])
        for link in links
    ]


def counselor_trends(
    *, couple: Couple, link: CounselorLink, prompt: str | None
) -> dict[str, Any] | None:
    """Ratings on a scale prompt over time, for the counselor: ratings are answers, so only
    with scope `shared_content`, and only shared, revealed ones."""
    if not prompt or link.scope != "shared_content":
        return None
    return checkins.trends(couple=couple, viewer=None, prompt_key=prompt, since=None)


def couple_in_scope(
    *, couple: Couple, link: CounselorLink, prompt: str | None
) -> LinkedCoupleInScope:
    """One couple within the link's scope: progress, timeline, exercises, trends, and the
    revealed check-ins and conversations if the couple chose `shared_content`."""
    shared = link.scope == "shared_content"
    return LinkedCoupleInScope(
        couple=couple,
        link=link,
        progress=progress(couple, now=clock.now()),
        timeline=timeline.recent_events(couple_id=couple.id, limit=TIMELINE_EVENTS),
        exercises=list_exercises(couple=couple),
        trends=counselor_trends(couple=couple, link=link, prompt=prompt),
        shared_checkins=checkins.revealed_checkins(couple_id=couple.id, limit=SHARED_CHECKINS)
        if shared
        else None,
        conversations=conversations.recent_conversations(couple_id=couple.id, limit=CONVERSATIONS)
        if shared
        else None,
    )


@checkins.on_checkin_revealed
def complete_checkin_exercise(checkin: Any) -> None:
    """A check-in exercise is done when its check-in is revealed."""
    exercise = db.session.scalar(sa.select(Exercise).where(Exercise.checkin_id == checkin.id))
    if exercise is not None:
        _complete(exercise, clock.now())


@conversations.on_conversation_completed
def complete_conversation_exercise(conversation: Any) -> None:
    """A conversation exercise is done when its conversation is completed."""
    exercise = db.session.scalar(
        sa.select(Exercise).where(Exercise.conversation_id == conversation.id)
    )
    if exercise is not None:
        _complete(exercise, clock.now())


@couples.on_couple_ended
def end_links_with_the_couple(couple: Couple, when: datetime) -> None:
    """Counselor links end with the couple (quietly: leaving is quiet)."""
    db.session.execute(
        sa.update(CounselorLink)
        .where(
            CounselorLink.couple_id == couple.id, CounselorLink.status.in_(("pending", "active"))
        )
        .values(status="ended", ended_at=when)
    )
    db.session.execute(
        sa.update(Exercise)
        .where(Exercise.couple_id == couple.id, Exercise.status == "open")
        .values(status="cancelled")
    )
