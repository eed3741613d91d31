"""Each person owns their data: a full export, and erasure.

Export gathers everything Trustline holds about the caller, each part through the same
viewer-aware functions the API uses, so the partner's private answers can't slip in.

Erasure removes the caller's personal data and ends their couple (quietly, like leaving).
The partner keeps their own content; what the erased person wrote shows as removed, and the
person as "Former partner". Nothing of them stays findable by e-mail or by any name they
ever used.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from backend import clock
from backend.accounts import activity
from backend.accounts import service as accounts
from backend.accounts.models import AuthSession, RefreshToken, User
from backend.accounts.passwords import hash_password
from backend.agreements import service as agreements
from backend.agreements.models import Agreement, AgreementItem, AgreementVersion
from backend.calendar_feeds import service as calendar_feeds
from backend.checkins import service as checkins
from backend.checkins.models import Answer, Checkin, CheckinResponse, PromptRevision
from backend.conversations import service as conversations
from backend.conversations.models import Conversation, ConversationEntry
from backend.counseling import service as counseling
from backend.counseling.models import CounselorLink, CounselorLinkCode, Exercise
from backend.couples import service as couples
from backend.couples.models import Couple, CoupleMember, PairingInvite
from backend.extensions import db
from backend.fields import UTCDateTime
from backend.idempotency.models import IdempotencyRecord
from backend.journal.models import JournalEntry
from backend.measures import service as measures
from backend.notifications.models import Device, Notification
from backend.safety.models import SafetyCheck
from backend.scheduling import service as schedules
from backend.timeline.models import TimelineEvent

FORMER = "Former partner"
FORMER_COUNSELOR = "Former counselor"
REMOVED = "[removed]"


def _couples_of(user: User) -> list[Couple]:
    return list(
        db.session.scalars(
            sa.select(Couple)
            .join(CoupleMember, CoupleMember.couple_id == Couple.id)
            .where(CoupleMember.user_id == user.id)
            .order_by(CoupleMember.joined_at)
        )
    )


def export(*, user: User, session_id: str | None = None) -> dict[str, Any]:
    """Everything Trustline holds about the caller, as one document."""
    # Recorded first, so the document holds its own download too (committed at the end).
    activity.record(user_id=user.id, kind="export_downloaded", session_id=session_id)
    couples_out = []
    for couple in _couples_of(user):
        viewer = user.id
        couples_out.append(
            {
                "id": couple.id,
                "status": couple.status,
                "name": couple.name,
                "timezone": couple.timezone,
                "created_at": couple.created_at,
                "ended_at": couple.ended_at,
                "members": [
                    {
                        "id": m.user_id,
                        "display_name": couples.name_in_couple(m),
                        "joined_at": m.joined_at,
                    }
                    for m in couple.members
                ],
                "checkins": [
                    checkins.checkin_for_viewer(c, viewer)
                    for c in db.session.scalars(
                        sa.select(Checkin)
                        .where(Checkin.couple_id == couple.id)
                        .order_by(Checkin.opened_at)
                    )
                ],
                "schedules": [schedules.view(s) for s in schedules.list_schedules(couple=couple)],
                "agreements": [
                    agreements.agreement_for_viewer(a, viewer)
                    for a in db.session.scalars(
                        sa.select(Agreement)
                        .where(Agreement.couple_id == couple.id)
                        .order_by(Agreement.created_at)
                    )
                ],
                "conversations": [
                    conversations.conversation_for_viewer(c, viewer)
                    for c in db.session.scalars(
                        sa.select(Conversation)
                        .where(Conversation.couple_id == couple.id)
                        .order_by(Conversation.started_at)
                    )
                ],
                "exercises": [
                    counseling.exercise_view(e) for e in counseling.list_exercises(couple=couple)
                ],
                "counselor_links": [
                    counseling.link_view(link) for link in counseling.links_of(couple)
                ],
                "timeline": [
                    {
                        "kind": e.kind,
                        "occurred_at": e.occurred_at,
                        "summary": e.summary,
                        "subject": e.subject,
                    }
                    for e in db.session.scalars(
                        sa.select(TimelineEvent)
                        .where(TimelineEvent.couple_id == couple.id)
                        .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
                    )
                ],
            }
        )
    safety = db.session.get(SafetyCheck, user.id)
    document = as_json(
        {
            "exported_at": clock.now(),
            "account": {
                "id": user.id,
                "email": user.email,
                "display_name": user.display_name,
                # Kept only for erasure to find them; they are the caller's data all the same.
                "former_display_names": user.former_display_names or [],
                "role": user.role,
                "timezone": user.timezone,
                "discreet_notifications": user.discreet_notifications,
                "created_at": user.created_at,
                "password_changed_at": user.password_changed_at,
            },
            "couples": couples_out,
            "journal": [
                {"id": j.id, "title": j.title, "text": j.text, "created_at": j.created_at}
                for j in db.session.scalars(
                    sa.select(JournalEntry)
                    .where(JournalEntry.user_id == user.id)
                    .order_by(JournalEntry.created_at)
                )
            ],
            "notifications": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "title": n.title,
                    "body": n.body,
                    "created_at": n.created_at,
                    "read_at": n.read_at,
                }
                for n in db.session.scalars(
                    sa.select(Notification)
                    .where(Notification.user_id == user.id)
                    .order_by(Notification.created_at)
                )
            ],
            "devices": [
                {
                    "id": d.id,
                    "platform": d.platform,
                    "label": d.label,
                    "token": d.token,
                    "created_at": d.created_at,
                    "last_used_at": d.last_used_at,
                }
                for d in db.session.scalars(sa.select(Device).where(Device.user_id == user.id))
            ],
            "sessions": [
                {
                    "id": s.id,
                    "description": s.client_description,
                    "created_at": s.created_at,
                    "last_used_at": s.last_used_at,
                    "expires_at": s.expires_at,
                    "revoked_at": s.revoked_at,
                }
                for s in db.session.scalars(
                    sa.select(AuthSession).where(AuthSession.user_id == user.id)
                )
            ],
            "safety_check": (
                {"answers": safety.answers, "completed_at": safety.completed_at} if safety else None
            ),
            "activity": activity.everything_of(user_id=user.id),
            "calendar_feeds": calendar_feeds.export_of(user_id=user.id),
            # The caller's own questionnaires: never the other partner's, not even that any exist.
            "measures": measures.export_of(user=user),
        }
    )
    db.session.commit()
    return document


def as_json(value: Any) -> Any:
    """Plain JSON values: instants as UTC `Z` strings, dates ISO, prompts as their wording."""
    if isinstance(value, datetime):
        return UTCDateTime()._serialize(value, None, None)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    if isinstance(value, PromptRevision):
        return {
            "key": value.key,
            "kind": value.kind,
            "text": value.text,
            "revision": value.revision,
        }
    return value


def erase(
    *, user: User, password: str, client_address: str = "-", session_id: str | None = None
) -> None:
    """Erase the caller's personal data; their couple ends, quietly. One transaction."""
    # Wrong passwords count against this login only: someone holding the owner's phone can't
    # use up the allowance that her other device needs to erase the account.
    accounts.check_own_password(
        user=user,
        password=password,
        client_address=client_address,
        field="password",
        session_id=session_id,
    )
    now = clock.now()
    active = next((c for c in _couples_of(user) if c.is_active), None)
    if active is not None:
        couples.leave(couple=active, user=user, notify_partner=False, commit=False)
    memberships = list(
        db.session.scalars(sa.select(CoupleMember).where(CoupleMember.user_id == user.id))
    )
    # Every name they went by: the current one, those before each rename, and those their
    # former partners were shown after the couple ended.
    names = {
        user.display_name,
        *(user.former_display_names or []),
        *(m.display_name_at_end for m in memberships if m.display_name_at_end),
    }
    couple_ids = [m.couple_id for m in memberships]
    if user.role == "counselor":
        couple_ids += list(
            db.session.scalars(
                sa.select(CounselorLink.couple_id).where(CounselorLink.counselor_id == user.id)
            )
        )
    # What they wrote: gone, with a marker where the partner's view would otherwise jump.
    responses = sa.select(CheckinResponse.id).where(CheckinResponse.user_id == user.id)
    db.session.execute(sa.delete(Answer).where(Answer.response_id.in_(responses)))
    db.session.execute(
        sa.update(ConversationEntry)
        .where(ConversationEntry.author_id == user.id)
        .values(text=REMOVED, author_id=None)
    )
    proposed = sa.select(AgreementVersion.id).where(AgreementVersion.proposed_by_id == user.id)
    db.session.execute(
        sa.update(AgreementItem).where(AgreementItem.version_id.in_(proposed)).values(text=REMOVED)
    )
    db.session.execute(
        sa.update(AgreementVersion)
        .where(AgreementVersion.proposed_by_id == user.id)
        .values(title=REMOVED)
    )
    db.session.execute(
        sa.update(Agreement)
        .where(Agreement.withdrawn_by_id == user.id)
        .values(withdraw_reason=None)
    )
    # Their own things: deleted outright.
    for model, column in (
        (JournalEntry, JournalEntry.user_id),
        (Device, Device.user_id),
        (Notification, Notification.user_id),
        (SafetyCheck, SafetyCheck.user_id),
        (IdempotencyRecord, IdempotencyRecord.user_id),
        (PairingInvite, PairingInvite.inviter_id),
        (CounselorLinkCode, CounselorLinkCode.counselor_id),
    ):
        db.session.execute(sa.delete(model).where(column == user.id))
    activity.erase_all(user_id=user.id)
    # Their responses and sharing choices go; a counselor's questionnaires stay (partners'
    # responses point at them) and hold nothing of anyone who answered them.
    measures.erase_of(user=user, now=now)
    sessions = sa.select(AuthSession.id).where(AuthSession.user_id == user.id)
    db.session.execute(sa.delete(RefreshToken).where(RefreshToken.session_id.in_(sessions)))
    db.session.execute(sa.delete(AuthSession).where(AuthSession.user_id == user.id))
    # A counselor's links end; their exercises stay with the couples, unsigned.
    db.session.execute(
        sa.update(CounselorLink)
        .where(
            CounselorLink.counselor_id == user.id, CounselorLink.status.in_(("pending", "active"))
        )
        .values(status="ended", ended_at=now)
    )
    db.session.execute(
        sa.update(Exercise).where(Exercise.counselor_id == user.id).values(counselor_id=None)
    )
    # Their names, wherever the shared history of their couples spelled them out.
    former = FORMER_COUNSELOR if user.role == "counselor" else FORMER
    for member in memberships:
        member.display_name_at_end = former
    if couple_ids:
        _scrub_names(names, couple_ids, former, exclude_user_id=user.id)
    user.email = f"erased-{secrets.token_hex(8)}@erased.invalid"
    user.display_name = former
    user.former_display_names = None
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.erased_at = now
    db.session.commit()


class _NameScrubber:
    """Replaces any of a person's names, as whole words, in texts written with them."""

    def __init__(self, names: set[str], former: str) -> None:
        # Longest first, so "Alice Smith" goes whole rather than leaving "Smith" behind.
        self.names = sorted((n for n in names if n and n != former), key=len, reverse=True)
        self.former = former
        self.pattern = re.compile(
            "|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in self.names) or r"(?!)"
        )
        # The same names as they appear inside a stored JSON document (escaped, or not).
        escaped = {json.dumps(n)[1:-1] for n in self.names} | set(self.names)
        self.json_pattern = re.compile(
            "|".join(
                rf"(?<!\w){re.escape(n)}(?!\w)" for n in sorted(escaped, key=len, reverse=True)
            )
            or r"(?!)"
        )

    def text(self, value: str, limit: int) -> str:
        """`value` without the names, within the column's `limit`."""
        scrubbed = self.pattern.sub(self.former, value)
        if len(value) >= limit:
            # A text cut at the column's length may end in the first part of a name.
            for name in self.names:
                for size in range(len(name) - 1, 2, -1):
                    head = scrubbed[:-size]
                    if scrubbed.endswith(name[:size]) and not head[-1:].isalnum():
                        scrubbed = head + self.former
                        break
        return scrubbed[:limit]

    def json_text(self, value: str) -> str:
        """A stored JSON document without the names."""
        return self.json_pattern.sub(self.former, value)


def _scrub_names(names: set[str], couple_ids: list[str], former: str, exclude_user_id: str) -> None:
    """Replace every name the person used in the texts the system wrote with them in their
    couples: timeline summaries, everyone's notifications there, and the stored responses the
    other people of those couples may be replayed (idempotency records)."""
    scrub = _NameScrubber(names, former)
    if not scrub.names:
        return

    def mentions(*columns: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        return sa.or_(
            *(column.contains(n, autoescape=True) for column in columns for n in scrub.names)
        )

    events = sa.select(TimelineEvent).where(
        TimelineEvent.couple_id.in_(couple_ids), mentions(TimelineEvent.summary)
    )
    for event in db.session.scalars(events):
        event.summary = scrub.text(event.summary, 200)
    notes = sa.select(Notification).where(
        Notification.couple_id.in_(couple_ids), mentions(Notification.title, Notification.body)
    )
    for note in db.session.scalars(notes):
        note.title = scrub.text(note.title, 120)
        note.body = scrub.text(note.body, 400)
    for couple in db.session.scalars(sa.select(Couple).where(Couple.id.in_(couple_ids))):
        if couple.name:
            couple.name = scrub.text(couple.name, 80)
    # Anyone who shared a couple with them: its members and its counselors.
    people = sa.union(
        sa.select(CoupleMember.user_id).where(CoupleMember.couple_id.in_(couple_ids)),
        sa.select(CounselorLink.counselor_id).where(CounselorLink.couple_id.in_(couple_ids)),
    ).subquery()
    escaped = {json.dumps(n)[1:-1] for n in scrub.names}
    stored = sa.select(IdempotencyRecord).where(
        IdempotencyRecord.user_id.in_(sa.select(people.c[0])),
        IdempotencyRecord.user_id != exclude_user_id,
        sa.or_(
            *(
                IdempotencyRecord.response_body.contains(n, autoescape=True)
                for n in escaped | set(scrub.names)
            )
        ),
    )
    for record in db.session.scalars(stored):
        record.response_body = scrub.json_text(record.response_body)
