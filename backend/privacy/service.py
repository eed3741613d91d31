"""Each person owns their data: a full export, and erasure.

Export gathers everything Trustline holds about the caller, each part through the same
viewer-aware functions the API uses, so the partner's private answers can't slip in.

Erasure removes the caller's personal data and ends their couple (quietly, like leaving).
The partner keeps their own content; what the erased person wrote shows as removed, and the
person as "Former partner". Nothing of them stays findable by e-mail or name.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from backend import clock
from backend.accounts import service as accounts
from backend.accounts.models import AuthSession, RefreshToken, User
from backend.accounts.passwords import hash_password
from backend.agreements import service as agreements
from backend.agreements.models import Agreement, AgreementItem, AgreementVersion
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


def export(*, user: User) -> dict[str, Any]:
    """Everything Trustline holds about the caller, as one document."""
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
                    {"id": m.user_id, "display_name": m.user.display_name, "joined_at": m.joined_at}
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
    return as_json(
        {
            "exported_at": clock.now(),
            "account": {
                "id": user.id,
                "email": user.email,
                "display_name": user.display_name,
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
                {"id": d.id, "platform": d.platform, "token": d.token, "created_at": d.created_at}
                for d in db.session.scalars(sa.select(Device).where(Device.user_id == user.id))
            ],
            "sessions": [
                {"created_at": s.created_at, "expires_at": s.expires_at, "revoked_at": s.revoked_at}
                for s in db.session.scalars(
                    sa.select(AuthSession).where(AuthSession.user_id == user.id)
                )
            ],
            "safety_check": (
                {"answers": safety.answers, "completed_at": safety.completed_at} if safety else None
            ),
        }
    )


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


def erase(*, user: User, password: str, client_address: str = "-") -> None:
    """Erase the caller's personal data; their couple ends, quietly. One transaction."""
    accounts.check_own_password(
        user=user, password=password, client_address=client_address, field="password"
    )
    now = clock.now()
    name = user.display_name
    active = next((c for c in _couples_of(user) if c.is_active), None)
    if active is not None:
        couples.leave(couple=active, user=user, notify_partner=False, commit=False)
    couple_ids = [c.id for c in _couples_of(user)]
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
    # Their name, wherever the shared history of their couples spelled it out.
    former = FORMER_COUNSELOR if user.role == "counselor" else FORMER
    if couple_ids:
        _scrub_name(name, couple_ids, former)
    user.email = f"erased-{secrets.token_hex(8)}@erased.invalid"
    user.display_name = former
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.erased_at = now
    db.session.commit()


def _scrub_name(name: str, couple_ids: list[str], former: str) -> None:
    """Replace the person's name (as a whole word) in the timeline summaries and
    notifications of the couples they were part of."""
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    events = sa.select(TimelineEvent).where(
        TimelineEvent.couple_id.in_(couple_ids), TimelineEvent.summary.contains(name)
    )
    for event in db.session.scalars(events):
        event.summary = pattern.sub(former, event.summary)
    notes = sa.select(Notification).where(
        Notification.couple_id.in_(couple_ids),
        sa.or_(Notification.body.contains(name), Notification.title.contains(name)),
    )
    for note in db.session.scalars(notes):
        note.body = pattern.sub(former, note.body)
        note.title = pattern.sub(former, note.title)
