"""Couples: pairing two partners with a code, changing the couple, and leaving alone."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Load, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from backend import clock, codes
from backend.accounts import service as accounts
from backend.couples.models import Couple, CoupleMember, PairingInvite
from backend.database import insert_rows
from backend.errors import Conflict, Invalid, NotFound
from backend.extensions import db
from backend.ids import new_id
from backend.notifications import service as notifications
from backend.timeline import service as timeline
from backend.unit_of_work import use_case

# A person: the accounts domain's own object, named through its service.
User = accounts.User

INVITE_LIFETIME = timedelta(hours=24)
WRONG_CODES = codes.WrongCodes("pairing-code")
PARTNERS_ONLY = "Pairing is for partners; counselors are linked by a couple instead."
UNKNOWN_CODE = "This code is unknown, already used or expired. Ask for a new one."
ALREADY_PAIRED = "You are already paired. Leave your current couple before pairing again."
# How an ended couple shows a member whose name is not kept (erased, or ended before names
# were kept).
FORMER_PARTNER = "Former partner"

NOT_YOURS = "There is nothing with this id that you can see."
NO_COUPLE = "You are not in a couple yet. Pair with your partner first."
ENDED = (
    "This couple has ended, so nothing in it can be changed any more. "
    "What was shared stays readable."
)


def _couple_id_of(user_id: Any) -> sa.ScalarSelect[Any]:
    """The id of the person's active couple, else of the one they were in most recently."""
    return (
        sa.select(CoupleMember.couple_id)
        .where(CoupleMember.user_id == user_id)
        .order_by(CoupleMember.ended_at.is_not(None), CoupleMember.joined_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _plain_couple_id_of(user_id: Any) -> sa.ScalarSelect[Any]:
    """`_couple_id_of` over the table's columns, for a statement without ORM entities."""
    members = CoupleMember.__table__
    return (
        sa.select(members.c.couple_id)
        .where(members.c.user_id == user_id)
        .order_by(members.c.ended_at.is_not(None), members.c.joined_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def couple_of(user: User) -> Couple | None:
    """The caller's active couple, else the one they were in most recently (read-only)."""
    return db.session.scalar(sa.select(Couple).where(Couple.id == _couple_id_of(user.id)))


def with_caller_couple(
    statement: sa.Select[Any], user_id: Any, *, whole: bool = True
) -> sa.Select[Any]:
    """`statement` with the couple `couple_of` would find for `user_id` (a column of it) added
    at its end (None if they were never in one): the couple found in the same round trip as
    the session check (`backend.access.with_couple`). `whole`: the `Couple`; else only its
    id and status (for `couple_ref`), with no ORM object to build."""
    if whole:
        return statement.add_columns(Couple).outerjoin(Couple, Couple.id == _couple_id_of(user_id))
    couples = Couple.__table__  # plain columns: no ORM in the statement
    return statement.add_columns(couples.c.id.label("couple_id"), couples.c.status).outerjoin(
        couples, couples.c.id == _plain_couple_id_of(user_id)
    )


class CoupleRef(NamedTuple):
    """A couple as a view that only reads its rows needs it: its id and status."""

    id: str
    status: str

    @property
    def is_active(self) -> bool:
        """Whether the couple is active (not ended)."""
        return self.status == "active"


def couple_ref(couple_id: str | None, status: str | None) -> CoupleRef | None:
    """The couple `with_caller_couple(..., whole=False)` found, or None."""
    return None if couple_id is None or status is None else CoupleRef(couple_id, status)


def active_couple_of(user_id: str) -> Couple | None:
    """The user's active couple, if any."""
    return db.session.scalar(
        sa.select(Couple)
        .join(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(CoupleMember.user_id == user_id, CoupleMember.ended_at.is_(None))
    )


def couple_by_id(couple_id: str) -> Couple | None:
    """The couple with this id, if there is one."""
    return _kept(db.session.get(Couple, couple_id))


# The session's identity map holds objects weakly: a couple read to check that it is active
# would be gone, and read again, by the time the answer names its members. The session keeps
# the couples it read last alive (it ends with the request), so a request reads its couple once.
KEPT_COUPLES = 2


def _kept(couple: Couple | None) -> Couple | None:
    if couple is not None:
        kept = db.session.info.setdefault("trustline_kept_couples", deque(maxlen=KEPT_COUPLES))
        if couple not in kept:
            kept.append(couple)
    return couple


def require_couple(couple: Any, *, write: bool = False) -> Any:
    """The caller's couple as found (by `couple_of` or `with_caller_couple`); 404 if none,
    409 if `write` and it has ended."""
    if couple is None:
        raise NotFound(NO_COUPLE)
    if write and not couple.is_active:
        raise Conflict(ENDED)
    return couple


def caller_couple(user: User, *, write: bool = False) -> Couple:
    """The caller's couple; 404 if none, 409 if `write` and it has ended."""
    return require_couple(couple_of(user), write=write)


def couples_by_id(couple_ids: list[str]) -> dict[str, Couple]:
    """These couples by id, with their members, in two queries whatever their number."""
    return {
        couple.id: couple
        for couple in db.session.scalars(
            sa.select(Couple).where(Couple.id.in_(couple_ids)).options(selectinload(Couple.members))
        )
    }


def is_or_was_member(couple_id: str, user_id: str) -> bool:
    """Whether the user is, or once was, a member of this couple."""
    return (
        db.session.scalar(
            sa.select(CoupleMember.id).where(
                CoupleMember.couple_id == couple_id, CoupleMember.user_id == user_id
            )
        )
        is not None
    )


def require_active(couple: Couple) -> None:
    """409 if the couple has ended."""
    if not couple.is_active:
        raise Conflict(ENDED)


def require_found(obj: Any, couple: Couple | None = None, *, write: bool = False) -> Any:
    """The object `with_caller_object` found; 404 if none, and 409 if `write` and its couple
    has ended."""
    if obj is None:
        raise NotFound(NOT_YOURS)
    if write:
        require_active(_kept(couple))
    return obj


def with_caller_object(statement: sa.Select[Any], model: type, *, write: bool) -> sa.Select[Any]:
    """`statement` (the session check's, `accounts.caller_statement()`) with an object of a
    couple the caller is or was in added at its end, found in the same round trip
    (`backend.access.with_couple_object`): the `model` (with a `couple_id`) with id
    `:object_id` if it belongs to a couple `:user_id` is or was in, else None. For a write,
    also its couple with the members (the use case checks the couple and tells its members);
    the object's relationships then load when used, as the use case reads again, holding it,
    what it is about to change. `require_found` then decides."""
    theirs = sa.select(CoupleMember.couple_id).where(
        CoupleMember.user_id == sa.bindparam("user_id")
    )
    statement = statement.add_columns(model).outerjoin(
        model, sa.and_(model.id == sa.bindparam("object_id"), model.couple_id.in_(theirs))
    )
    if not write:
        return statement
    return (
        statement.add_columns(Couple)
        .outerjoin(Couple, Couple.id == model.couple_id)
        .options(Load(model).lazyload("*"), joinedload(Couple.members))
    )


CoupleEndedHook = Callable[[Couple, datetime], None]
CoupleUpdatedHook = Callable[[Couple, list[str]], None]
_couple_ended_hooks: list[CoupleEndedHook] = []
_couple_updated_hooks: list[CoupleUpdatedHook] = []


def on_couple_ended(hook: CoupleEndedHook) -> CoupleEndedHook:
    """Register what a feature must stop when a couple ends (runs in the same transaction).

    Schedules, agreements and counselor links register here, so that leaving stops them all
    at once, whichever feature is added later.
    """
    _couple_ended_hooks.append(hook)
    return hook


def on_couple_updated(hook: CoupleUpdatedHook) -> CoupleUpdatedHook:
    """Register what must follow a change of the couple (e.g. schedules, its time zone)."""
    _couple_updated_hooks.append(hook)
    return hook


def name_in_couple(member: CoupleMember) -> str:
    """What a member is called in the couple's views: their own name while the couple is
    active; once it has ended, the name they had then (or a neutral label), never a later one."""
    if member.ended_at is None:
        return member.user.display_name
    return member.display_name_at_end or FORMER_PARTNER


def member_names(couple: Couple) -> dict[str, str]:
    """Each member's name as the couple's views show it (see `name_in_couple`)."""
    return {member.user_id: name_in_couple(member) for member in couple.members}


# A person as the couple's views show them: {id, display_name}, or None for nobody.
Person = Callable[[str | None], dict[str, Any] | None]


def people_of(couple: Couple) -> Person:
    """How the couple's views name a person by id (its members' names found once)."""
    names = member_names(couple)

    def person(user_id: str | None) -> dict[str, Any] | None:
        if user_id is None:
            return None
        return {"id": user_id, "display_name": names.get(user_id, FORMER_PARTNER)}

    return person


def member_names_of(couple_id: str) -> dict[str, str]:
    """`member_names` of the couple with this id."""
    return member_names(db.session.get(Couple, couple_id))


def member_timezones(couple: Couple) -> dict[str, str]:
    """Each member's own time zone, by user id."""
    return {member.user_id: member.user.timezone for member in couple.members}


@dataclass(frozen=True)
class NewInvite:
    """A pairing code, shown once to the inviter."""

    code: str
    expires_at: datetime


@use_case
def create_invite(*, user: User) -> NewInvite:
    """Make a new pairing code for a partner not yet in a couple; it replaces older ones."""
    if user.role != "partner":
        raise NotFound(PARTNERS_ONLY)
    if active_couple_of(user.id) is not None:
        raise Conflict(ALREADY_PAIRED)
    db.session.execute(
        sa.delete(PairingInvite).where(
            PairingInvite.inviter_id == user.id, PairingInvite.used_at.is_(None)
        )
    )
    code = codes.generate()
    invite = PairingInvite(
        code_hash=codes.hash_code(code),
        inviter_id=user.id,
        expires_at=clock.now() + INVITE_LIFETIME,
    )
    db.session.add(invite)
    return NewInvite(code=code, expires_at=invite.expires_at)


# The couple is written as rows and read back with its members; the code's row is changed by the
# table's statements and told to the object loaded: the answer is dumped from what was written.
@use_case(expire_on_commit=False)
def accept_invite(*, user: User, code: str) -> Couple:
    """Pair the caller with the partner who made `code`. Exactly one acceptance can win."""
    if user.role != "partner":
        raise NotFound(PARTNERS_ONLY)
    now = clock.now()
    invite = codes.find_unused(
        PairingInvite, code, now=now, limit=WRONG_CODES, guesser=user.id, unknown=UNKNOWN_CODE
    )
    if invite.inviter_id == user.id:
        raise Invalid.field("code", "This is your own code. Give it to your partner to enter.")
    # Claim the code atomically: of two people accepting at once, exactly one gets it, and
    # every other one hears the same "used" (404), however their requests interleave. Only
    # then is either of them asked about (one query for both); a refusal rolls the claim back.
    if not codes.claim_code(invite, now=now, used_by_id=user.id):
        raise NotFound(UNKNOWN_CODE)
    inviter, paired = _the_two(user.id, invite.inviter_id)
    if user.id in paired:
        raise Conflict(ALREADY_PAIRED)
    if paired:
        raise Conflict("The person who made this code is already paired.")
    if inviter is None:  # pragma: no cover - the code goes with its maker's account
        raise NotFound(UNKNOWN_CODE)
    couple = _form_couple(inviter, user, now)
    db.session.execute(_INVITE_COUPLE, {"invite_id": invite.id, "couple_id": couple.id})
    set_committed_value(invite, "couple_id", couple.id)
    # Codes either of them made and did not use are void now (and must not reveal the pairing).
    db.session.execute(_UNUSED_INVITES_OF, {"user_ids": [inviter.id, user.id]})
    timeline.announce(
        couple_id=couple.id,
        kind="paired",
        actor_id=user.id,
        subject=("couple", couple.id),
        summary=f"{inviter.display_name} and {user.display_name} paired their accounts.",
        tell=[inviter.id],
        title="You are paired",
        body=f"{user.display_name} entered your code. You can start together now.",
    )
    return couple


def _the_two(user_id: str, inviter_id: str) -> tuple[User | None, set[str]]:
    """The inviter's account, and which of the two people are in an active couple: one
    query for both."""
    inviter, paired = None, set()
    for person, membership in db.session.execute(_THE_TWO, {"user_ids": [user_id, inviter_id]}):
        if membership is not None:
            paired.add(person.id)
        if person.id == inviter_id:
            inviter = person
    return inviter, paired


_THE_TWO = (
    sa.select(User, CoupleMember.id)
    .outerjoin(
        CoupleMember, sa.and_(CoupleMember.user_id == User.id, CoupleMember.ended_at.is_(None))
    )
    .where(User.id.in_(sa.bindparam("user_ids", expanding=True)))
)
# Codes the two made and did not use: void once they are paired. The table's DELETE: the ORM's
# would first flush, then work out which loaded codes it removes (none is loaded but the one
# used), a tenth of an acceptance.
_INVITES = PairingInvite.__table__
_UNUSED_INVITES_OF = sa.delete(_INVITES).where(
    _INVITES.c.inviter_id.in_(sa.bindparam("user_ids", expanding=True)),
    _INVITES.c.used_at.is_(None),
)
_INVITE_COUPLE = (
    sa.update(_INVITES)
    .where(_INVITES.c.id == sa.bindparam("invite_id"))
    .values(couple_id=sa.bindparam("couple_id"))
)


def _form_couple(inviter: User, user: User, now: datetime) -> Couple:
    """The new couple of the two, in the inviter's time zone; 409 if the database finds one
    of them paired by another request in the meantime (its unique index on active members).
    Written as rows, then read back with its members: joined at the same moment, they are
    ordered by id as the database collates it, not in the order they were made."""
    couple_id = new_id()
    try:
        insert_rows(
            db.session,
            Couple,
            [
                {
                    "id": couple_id,
                    "status": "active",
                    "timezone": inviter.timezone,
                    "created_at": now,
                }
            ],
        )
        insert_rows(
            db.session,
            CoupleMember,
            [
                {"id": new_id(), "couple_id": couple_id, "user_id": member.id, "joined_at": now}
                for member in (inviter, user)
            ],
        )
    except sa.exc.IntegrityError as exc:
        raise Conflict("One of you was paired in the meantime.") from exc
    return db.session.execute(_NEW_COUPLE, {"couple_id": couple_id}).unique().scalar_one()


_NEW_COUPLE = (
    sa.select(Couple)
    .where(Couple.id == sa.bindparam("couple_id"))
    .options(joinedload(Couple.members))
)


@use_case
def update_couple(*, couple: Couple, user: User, changes: dict) -> Couple:
    """Change the couple's time zone or name; both partners are told."""
    require_active(couple)
    if "name" in changes and not changes["name"]:
        changes = {**changes, "name": None}
    changed = [field for field in ("timezone", "name") if field in changes]
    changed = [field for field in changed if getattr(couple, field) != changes[field]]
    if not changed:
        return couple
    for field in changed:
        setattr(couple, field, changes[field])
    for hook in _couple_updated_hooks:
        hook(couple, changed)
    what = " and ".join("time zone" if f == "timezone" else "name" for f in changed)
    timeline.announce(
        couple_id=couple.id,
        kind="couple_updated",
        actor_id=user.id,
        subject=("couple", couple.id),
        summary=f"{user.display_name} changed the couple's {what}.",
        tell=couple.member_ids(),
        title="Couple settings changed",
        body=f"{user.display_name} changed the couple's {what}.",
    )
    return couple


@use_case
def leave(*, couple: Couple, user: User, notify_partner: bool = False) -> Couple:
    """End the couple at once, alone. Quiet unless the leaving partner asks to tell the other.

    Its own use case, or part of the caller's (erasure ends the couple first)."""
    require_active(couple)
    now = clock.now()
    couple.status = "ended"
    couple.ended_at = now
    for member in couple.members:
        member.ended_at = now
        # Both names are kept as they are now: neither former partner gets a live view of the
        # other's profile from here on (a later rename, a new life).
        member.display_name_at_end = member.user.display_name
    for hook in _couple_ended_hooks:
        hook(couple, now)
    timeline.record(
        couple_id=couple.id,
        kind="partner_left",
        actor_id=user.id,
        subject=("couple", couple.id),
        summary=f"{user.display_name} ended the couple.",
    )
    partner_id = couple.partner_of(user.id)
    if notify_partner and partner_id:
        notifications.notify(
            user_ids=[partner_id],
            couple_id=couple.id,
            kind="partner_left",
            title="Your couple has ended",
            body=f"{user.display_name} ended your couple in Trustline.",
            subject=("couple", couple.id),
        )
    return couple


# --- queries for other domains ---------------------------------------------------------------


class CoupleState(NamedTuple):
    """What the tick needs of a couple: its status, its time zone, its members' ids."""

    status: str
    timezone: str
    member_ids: tuple[str, ...]


def states_of(couple_ids: Iterable[str]) -> dict[str, CoupleState]:
    """couple id -> its state (members in the order they joined), in two light queries."""
    ids = set(couple_ids)
    members: dict[str, list[str]] = {}
    for couple_id, user_id in db.session.execute(
        sa.select(CoupleMember.couple_id, CoupleMember.user_id)
        .where(CoupleMember.couple_id.in_(ids))
        .order_by(CoupleMember.joined_at, CoupleMember.id)
    ):
        members.setdefault(couple_id, []).append(user_id)
    return {
        couple_id: CoupleState(status, timezone, tuple(members.get(couple_id, ())))
        for couple_id, status, timezone in db.session.execute(
            sa.select(Couple.id, Couple.status, Couple.timezone).where(Couple.id.in_(ids))
        )
    }
