"""What couples hold about a person: their part of the export and of erasure.

The couples they were in (each with the other domains' parts, `privacy.export_of_couple`);
in erasure, leaving the active couple first, then where their names may show.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.couples import service as couples
from backend.couples.models import Couple, CoupleMember, PairingInvite
from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step


def couples_of(user_id: str) -> list[Couple]:
    """Every couple the person was in, the earliest joined first."""
    return list(
        db.session.scalars(
            sa.select(Couple)
            .join(CoupleMember, CoupleMember.couple_id == Couple.id)
            .where(CoupleMember.user_id == user_id)
            .order_by(CoupleMember.joined_at)
        )
    )


def _memberships_of(user_id: str) -> list[CoupleMember]:
    return list(db.session.scalars(sa.select(CoupleMember).where(CoupleMember.user_id == user_id)))


@privacy.on_export("couples")
def export_couples(request: privacy.Export) -> list[dict[str, Any]]:
    """Each couple the person was in, with what it holds as they may see it."""
    return [
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
            **privacy.export_of_couple(request, couple),
        }
        for couple in couples_of(request.user.id)
    ]


@privacy.on_erase(Step.LEAVE)
def leave_the_couple(erasure: privacy.Erasure) -> None:
    """Their active couple ends, quietly: the partner is not notified."""
    active = next((c for c in couples_of(erasure.user.id) if c.is_active), None)
    if active is not None:
        couples.leave(couple=active, user=erasure.user, notify_partner=False)


@privacy.on_erase(Step.FIND_COUPLES)
def find_couples_and_names(erasure: privacy.Erasure) -> None:
    """Each couple they were in, and the names their former partners were shown after it
    ended."""
    memberships = _memberships_of(erasure.user.id)
    erasure.names |= {m.display_name_at_end for m in memberships if m.display_name_at_end}
    erasure.couple_ids += [m.couple_id for m in memberships]


@privacy.on_erase(Step.FIND_PEOPLE)
def find_members(erasure: privacy.Erasure) -> None:
    """Every member of those couples."""
    erasure.people |= set(
        db.session.scalars(
            sa.select(CoupleMember.user_id).where(CoupleMember.couple_id.in_(erasure.couple_ids))
        )
    )


@privacy.on_erase(Step.REMOVE)
def remove_invites_and_names(erasure: privacy.Erasure) -> None:
    """Their pairing codes go; their couples show them by the neutral label from now on."""
    db.session.execute(sa.delete(PairingInvite).where(PairingInvite.inviter_id == erasure.user.id))
    for member in _memberships_of(erasure.user.id):
        member.display_name_at_end = erasure.former


@privacy.on_erase(Step.SCRUB)
def scrub_couple_names(erasure: privacy.Erasure) -> None:
    """A couple's name may hold theirs ("Alice and Bob")."""
    scrub = erasure.name_scrubber()
    if scrub is None:
        return
    for couple in db.session.scalars(sa.select(Couple).where(Couple.id.in_(erasure.couple_ids))):
        if couple.name:
            couple.name = scrub.text(couple.name, 80)
