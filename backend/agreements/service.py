"""Transparency agreements: drafting, consenting, amending, withdrawing, ending, reviewing.

Transparency offered freely can rebuild trust; demanded, it becomes control. So: every
version needs both partners' consent, either partner can withdraw alone and at once, every
agreement ends within six months unless both renew it, and the response says plainly when an
agreement binds only one of them.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from backend import clock
from backend.accounts import service as accounts
from backend.agreements import library
from backend.agreements.models import Agreement, AgreementConsent, AgreementItem, AgreementVersion
from backend.couples import service as couples
from backend.couples.service import require_active
from backend.database import claim, insert_rows, lock_rows, locking
from backend.errors import Conflict, Invalid, PreconditionFailed, PreconditionRequired
from backend.extensions import db
from backend.pagination import Page, keyset_page
from backend.timeline import service as timeline
from backend.unit_of_work import use_case

DEFAULT_DURATION = timedelta(days=90)
# "No more than six months ahead": a bridge back to trust, not a permanent state.
MAX_DURATION = timedelta(days=183)


def local_today(couple: couples.Couple) -> date:
    """Today's date where the couple lives."""
    return clock.now().astimezone(ZoneInfo(couple.timezone)).date()


def etag(agreement: Agreement) -> str:
    """The agreement's ETag: changes with every change to it."""
    return f'"{agreement.id}.{agreement.revision}"'


def _couple(agreement: Agreement) -> couples.Couple:
    return couples.couple_by_id(agreement.couple_id)


# The agreement held; then its versions, with their consents (two at most) and items, in one
# more query, after the lock: a row joined to the locked one would be read as it was before
# the wait. Both built once (see `database.locking`): the versions' query is the same each
# time, where a `selectinload` would build its own at every lock (half of a consent's read).
_LOCKED_AGREEMENT = locking(
    sa.select(Agreement)
    .where(Agreement.id == sa.bindparam("agreement_id"))
    .options(lazyload(Agreement.versions))
)
_VERSIONS_OF = (
    sa.select(AgreementVersion)
    .where(AgreementVersion.agreement_id == sa.bindparam("agreement_id"))
    .order_by(AgreementVersion.number)
    .options(joinedload(AgreementVersion.consents), joinedload(AgreementVersion.items))
    .execution_options(populate_existing=True)
)


def _lock(agreement: Agreement) -> Agreement:
    """Re-read the agreement (versions, consents) holding it, so concurrent changes take turns."""
    params = {"agreement_id": agreement.id}
    locked = lock_rows(_LOCKED_AGREEMENT, _AGREEMENTS, db.session, params).one()
    return _with_versions(locked)


def _move_on_holding(agreement: Agreement) -> Agreement:
    """Move the agreement's revision on, holding its row until commit (PostgreSQL's row lock,
    SQLite's one writer) as `_lock`'s read does: the UPDATE hands the row back as it is now,
    so no read is made to hold it. Whatever the use case then refuses rolls it back."""
    _bump_revision(agreement)
    return _with_versions(agreement)


def _with_versions(agreement: Agreement) -> Agreement:
    """The held agreement with its versions, consents and items, read after the hold."""
    versions = db.session.scalars(_VERSIONS_OF, {"agreement_id": agreement.id}).unique().all()
    set_committed_value(agreement, "versions", list(versions))
    return agreement


_AGREEMENTS = Agreement.__table__
# Consent's change of status once the version is in force: the revision has moved already.
_AGREEMENT_STATUS = (
    sa.update(_AGREEMENTS)
    .where(_AGREEMENTS.c.id == sa.bindparam("agreement_id"))
    .values(status=sa.bindparam("status"), updated_at=sa.bindparam("at"))
)


def _ensure_open(agreement: Agreement) -> couples.Couple:
    couple = _couple(agreement)
    require_active(couple)
    if not agreement.is_open:
        raise Conflict(f"This agreement is {agreement.status}; it can no longer change.")
    return couple


def _binds(applies_to: str, user: accounts.User, couple: couples.Couple) -> list[str]:
    partner = couple.partner_of(user.id)
    return {
        "both": [user.id, partner],
        "me": [user.id],
        "partner": [partner],
    }[applies_to]


def _check_dates(
    *, today: date, ends_on: date, review_on: date | None, items: list[dict[str, Any]]
) -> None:
    if ends_on < today:
        raise Invalid.field("ends_on", "Choose an end date from today on.")
    if ends_on > today + MAX_DURATION:
        raise Invalid.field(
            "ends_on",
            "An agreement ends within six months; renew it later as a new version if both of "
            "you want to.",
        )
    if review_on is not None and not today <= review_on <= ends_on:
        raise Invalid.field("review_on", "Choose a review date between today and the end date.")
    for n, item in enumerate(items):
        item_review = item.get("review_on")
        if item_review is not None and not today <= item_review <= ends_on:
            raise Invalid.field(
                f"items.{n}.review_on", "Choose a review date between today and the end date."
            )


def _new_version(
    agreement: Agreement,
    *,
    couple: couples.Couple,
    user: accounts.User,
    title: str,
    items: list[dict[str, Any]],
    review_on: date | None,
    ends_on: date | None,
) -> AgreementVersion:
    today = local_today(couple)
    ends_on = ends_on or today + DEFAULT_DURATION
    _check_dates(today=today, ends_on=ends_on, review_on=review_on, items=items)
    now = clock.now()
    for older in agreement.versions:
        if older.status == "proposed":
            older.status = "replaced"
    version = AgreementVersion(
        number=len(agreement.versions) + 1,
        title=title,
        status="proposed",
        ends_on=ends_on,
        review_on=review_on,
        proposed_by_id=user.id,
        proposed_at=now,
    )
    version.items = [
        AgreementItem(
            position=n,
            category=item["category"],
            text=item["text"],
            binds=_binds(item["applies_to"], user, couple),
            review_on=item.get("review_on"),
        )
        for n, item in enumerate(items)
    ]
    # Proposing is consenting: the proposer agrees to what they propose.
    version.consents = [AgreementConsent(user_id=user.id, consented_at=now)]
    agreement.versions.append(version)
    return version


def _announce(
    couple: couples.Couple,
    agreement: Agreement,
    kind: str,
    *,
    summary: str,
    tell: list[str | None],
    text: str,
    actor: accounts.User | None = None,
) -> None:
    """On the timeline (never the items' text), and to the partners it concerns."""
    timeline.announce(
        couple_id=couple.id,
        kind=kind,
        actor_id=actor.id if actor else None,
        subject=("agreement", agreement.id),
        summary=summary,
        tell=tell,
        title="Transparency agreement",
        body=text,
    )


@use_case
def create_agreement(
    *,
    couple: couples.Couple,
    user: accounts.User,
    title: str,
    items: list[dict[str, Any]],
    review_on: date | None = None,
    ends_on: date | None = None,
) -> Agreement:
    """Draft an agreement: version 1, proposed (and so consented to) by the caller."""
    require_active(couple)
    agreement = Agreement(couple_id=couple.id, status="proposed", revision=1, created_by_id=user.id)
    db.session.add(agreement)
    _new_version(
        agreement,
        couple=couple,
        user=user,
        title=title,
        items=items,
        review_on=review_on,
        ends_on=ends_on,
    )
    db.session.flush()
    _announce(
        couple,
        agreement,
        "agreement_proposed",
        summary=f"{user.display_name} proposed a transparency agreement.",
        tell=[couple.partner_of(user.id)],
        text=f"{user.display_name} proposed a transparency agreement. Read it and decide freely.",
        actor=user,
    )
    return agreement


def _bump_revision(agreement: Agreement, expected: int | None = None, **changes: Any) -> None:
    """Move the ETag on; with `expected`, only if nobody changed the agreement meanwhile.
    `changes` to the agreement's row are made by the same statement, and the whole row as it
    is now is told to `agreement` (its columns' keys are its attributes' names)."""
    params = {"agreement_id": agreement.id, **{f"new_{k}": v for k, v in changes.items()}}
    if expected is not None:
        params["expected"] = expected
    bumped = db.session.execute(
        _bump_statement(expected is not None, tuple(sorted(changes))), params
    ).first()
    if bumped is None:
        raise PreconditionFailed(
            "The agreement changed since you read it. Reload it and try again."
        )
    for name, value in {**changes, **bumped._asdict()}.items():
        set_committed_value(agreement, name, value)


@functools.cache
def _bump_statement(expected: bool, changes: tuple[str, ...]) -> sa.Update:
    """Of two requests racing, exactly one moves the revision (the WHERE, as `database.claim`),
    and the row as it is now comes back in the same statement (built once per shape, with
    bound parameters). The table's UPDATE: the model's would be annotated anew for the ORM at
    every run, and its cache key found again (a quarter of a consent's work)."""
    table = _AGREEMENTS
    statement = sa.update(table).where(table.c.id == sa.bindparam("agreement_id"))
    if expected:
        statement = statement.where(table.c.revision == sa.bindparam("expected"))
    return statement.values(
        revision=table.c.revision + 1,
        **{name: sa.bindparam(f"new_{name}") for name in changes},
    ).returning(*table.c)


@use_case
def propose_version(
    *,
    agreement: Agreement,
    user: accounts.User,
    if_match: str | None,
    items: list[dict[str, Any]],
    review_on: date | None = None,
    ends_on: date | None = None,
    title: str | None = None,
) -> Agreement:
    """Propose an amendment or counter-proposal; the version in force stays until both agree."""
    if if_match is None:
        raise PreconditionRequired(
            "Send If-Match with the agreement's ETag, so you don't overwrite your partner's change."
        )
    couple = _ensure_open(agreement)
    if if_match.removeprefix("W/") != etag(agreement):
        raise PreconditionFailed(
            "The agreement changed since you read it. Reload it and try again."
        )
    _bump_revision(agreement, expected=agreement.revision)
    current = agreement.current
    version = _new_version(
        agreement,
        couple=couple,
        user=user,
        title=title or current.title,
        items=items,
        # An amendment keeps the dates it doesn't change (renewing is a new ends_on).
        review_on=review_on or current.review_on,
        ends_on=ends_on or current.ends_on,
    )
    db.session.flush()
    _announce(
        couple,
        agreement,
        "agreement_amended",
        summary=(
            f"{user.display_name} proposed version {version.number} of a transparency agreement."
        ),
        tell=[couple.partner_of(user.id)],
        text=f"{user.display_name} proposed a change to your transparency agreement. "
        "The current one stays in force until you both agree.",
        actor=user,
    )
    return agreement


# Every change below is written by the tables' statements and told to the objects loaded
# (`set_committed_value`), or comes back from the statement that made it (`_move_on_holding`),
# so the answer is dumped from what was loaded and written, without the ORM's unit of work.
@use_case(expire_on_commit=False)
def consent(*, agreement: Agreement, user: accounts.User, version_number: int) -> Agreement:
    """Consent to one exact version; once both have, it is the version in force."""
    agreement = _move_on_holding(agreement)
    couple = _ensure_open(agreement)
    proposal = agreement.pending_proposal
    if proposal is None or proposal.number != version_number:
        raise Conflict(
            "That version is not the latest proposal"
            + (f"; version {proposal.number} is." if proposal else ".")
        )
    if proposal.consented_by(user.id):
        raise Conflict("You already agreed to this version; it waits for your partner.")
    in_force = all(uid == user.id or proposal.consented_by(uid) for uid in couple.member_ids())
    if in_force:
        db.session.execute(
            _AGREEMENT_STATUS,
            {"agreement_id": agreement.id, "status": "active", "at": agreement.updated_at},
        )
        set_committed_value(agreement, "status", "active")
    now = clock.now()
    consent_row = {"version_id": proposal.id, "user_id": user.id, "consented_at": now}
    insert_rows(db.session, AgreementConsent, [consent_row])
    set_committed_value(proposal, "consents", [*proposal.consents, AgreementConsent(**consent_row)])
    if in_force:
        _put_in_force(agreement, proposal, now)
        _announce(
            couple,
            agreement,
            "agreement_activated",
            summary=f"You both agreed to version {proposal.number} of a transparency agreement.",
            tell=couple.member_ids(),
            text="You both agreed: the transparency agreement is in force. Either of you can "
            "withdraw at any time.",
            actor=user,
        )
    return agreement


def _put_in_force(agreement: Agreement, proposal: AgreementVersion, now: datetime) -> None:
    """The proposal is the version in force from `now`; the one in force before it, if any,
    is superseded (one UPDATE by primary key for each)."""
    changes = [
        {"version_id": v.id, "status": "superseded", "activated_at": v.activated_at}
        for v in agreement.versions
        if v.status == "active"
    ]
    changes.append({"version_id": proposal.id, "status": "active", "activated_at": now})
    db.session.execute(_VERSION_STATUS, changes)
    versions = {v.id: v for v in agreement.versions}
    for change in changes:
        set_committed_value(versions[change["version_id"]], "status", change["status"])
        set_committed_value(versions[change["version_id"]], "activated_at", change["activated_at"])


_VERSIONS = AgreementVersion.__table__
_VERSION_STATUS = (
    sa.update(_VERSIONS)
    .where(_VERSIONS.c.id == sa.bindparam("version_id"))
    .values(status=sa.bindparam("status"), activated_at=sa.bindparam("activated_at"))
)


@use_case
def withdraw(*, agreement: Agreement, user: accounts.User, reason: str | None = None) -> Agreement:
    """Withdraw from the agreement: alone, at once, no reason needed. Both are told."""
    agreement = _lock(agreement)
    couple = _ensure_open(agreement)
    _bump_revision(agreement)
    agreement.status = "withdrawn"
    agreement.withdrawn_at = clock.now()
    agreement.withdrawn_by_id = user.id
    agreement.withdraw_reason = reason or None
    _announce(
        couple,
        agreement,
        "agreement_withdrawn",
        summary=f"{user.display_name} withdrew from a transparency agreement.",
        tell=couple.member_ids(),
        text=f"{user.display_name} withdrew from your transparency agreement. "
        + library.guidance("withdrawal"),
        actor=user,
    )
    return agreement


def list_agreements(*, couple: couples.Couple, limit: int, cursor: str | None) -> Page[Agreement]:
    """A page of the couple's agreements, newest first."""
    return keyset_page(
        sa.select(Agreement).where(Agreement.couple_id == couple.id),
        moment_column=Agreement.created_at,
        id_column=Agreement.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def status_counts(couple_ids: list[str]) -> dict[str, dict[str, int]]:
    """How many agreements each couple has in each status, in one query."""
    counts: dict[str, dict[str, int]] = {couple_id: {} for couple_id in couple_ids}
    for couple_id, status, count in db.session.execute(
        sa.select(Agreement.couple_id, Agreement.status, sa.func.count())
        .where(Agreement.couple_id.in_(couple_ids))
        .group_by(Agreement.couple_id, Agreement.status)
    ):
        counts[couple_id][status] = count
    return counts


def reciprocity(version: AgreementVersion, couple: couples.Couple) -> str:
    """`mutual` when both partners are bound by some item, else `one_sided`."""
    bound = {uid for item in version.items for uid in item.binds}
    return "mutual" if set(couple.member_ids()) <= bound else "one_sided"


@use_case
def end_due_agreements(*, now: datetime) -> int:
    """End agreements past their end date, where the couple lives; both are told."""
    candidates = db.session.scalars(
        sa.select(Agreement)
        .join(AgreementVersion, AgreementVersion.agreement_id == Agreement.id)
        .where(
            Agreement.status.in_(("proposed", "active")),
            AgreementVersion.ends_on < (now + timedelta(days=1)).date(),
        )
        .distinct()
    ).all()
    ended = 0
    for agreement in candidates:
        couple = _couple(agreement)
        if agreement.current.ends_on >= local_today(couple):
            continue
        done = claim(
            db.session,
            sa.update(Agreement)
            .where(Agreement.id == agreement.id, Agreement.status.in_(("proposed", "active")))
            .values(status="ended", ended_at=now, revision=Agreement.revision + 1),
        )
        if not done:
            continue
        ended += 1
        _announce(
            couple,
            agreement,
            "agreement_ended",
            summary="A transparency agreement reached its end date.",
            tell=couple.member_ids(),
            text="Your transparency agreement reached its end date. If you both want to go on, "
            "draft a new one together.",
            actor=None,
        )
    return ended


@use_case
def send_review_reminders(*, now: datetime) -> int:
    """On an agreement's or item's review date, tell both partners once."""
    soon = (now + timedelta(days=1)).date()
    sent = 0
    versions = db.session.scalars(
        sa.select(AgreementVersion)
        .join(Agreement, Agreement.id == AgreementVersion.agreement_id)
        .where(Agreement.status == "active", AgreementVersion.status == "active")
    ).all()
    for version in versions:
        agreement = db.session.get(Agreement, version.agreement_id)
        couple = _couple(agreement)
        today = local_today(couple)
        due = [
            thing
            for thing in (version, *version.items)
            if thing.review_on is not None
            and thing.review_on <= min(today, soon)
            and thing.review_notified_for != thing.review_on
        ]
        if not due:
            continue
        # Claim each review date once, so two scheduler processes don't both send it.
        claimed = [
            claim(
                db.session,
                sa.update(type(thing))
                .where(type(thing).id == thing.id, _not_yet_notified(type(thing), thing.review_on))
                .values(review_notified_for=thing.review_on),
            )
            for thing in due
        ]
        if not any(claimed):
            continue
        sent += 1
        _announce(
            couple,
            agreement,
            "agreement_review_due",
            summary="A transparency agreement is due for review.",
            tell=couple.member_ids(),
            text="It's time to review your transparency agreement together: what still helps, and "
            "what can step down as trust returns.",
            actor=None,
        )
    return sent


def _not_yet_notified(model: type, review_on: date) -> Any:
    column = model.review_notified_for
    return sa.or_(column.is_(None), column != review_on)


@couples.on_couple_ended
def end_with_the_couple(couple: couples.Couple, when: datetime) -> None:
    """Agreements end with the couple, quietly (leaving is quiet)."""
    db.session.execute(
        sa.update(Agreement)
        .where(Agreement.couple_id == couple.id, Agreement.status.in_(("proposed", "active")))
        .values(status="ended", ended_at=when, revision=Agreement.revision + 1)
    )
