"""What counseling holds about a person: its part of the export and of erasure.

A couple's exercises and counselor links; in erasure, a counselor's link codes and links
end, and their exercises stay with the couples, unsigned.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.counseling import service as counseling
from backend.counseling.models import CounselorLink, CounselorLinkCode, Exercise
from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_export_of_couple("exercises")
def export_exercises(request: privacy.Export, couple: privacy.SharedCouple) -> list[dict[str, Any]]:
    """The couple's exercises."""
    return [counseling.exercise_view(e) for e in counseling.list_exercises(couple=couple)]


@privacy.on_export_of_couple("counselor_links")
def export_links(request: privacy.Export, couple: privacy.SharedCouple) -> list[dict[str, Any]]:
    """The couple's counselor links, pending, active or ended."""
    return [counseling.link_view(link) for link in counseling.links_of(couple)]


@privacy.on_erase(Step.FIND_COUPLES)
def find_linked_couples(erasure: privacy.Erasure) -> None:
    """A counselor shared the history of every couple they were linked to."""
    if erasure.user.role == "counselor":
        erasure.couple_ids += list(
            db.session.scalars(
                sa.select(CounselorLink.couple_id).where(
                    CounselorLink.counselor_id == erasure.user.id
                )
            )
        )


@privacy.on_erase(Step.FIND_PEOPLE)
def find_counselors(erasure: privacy.Erasure) -> None:
    """Every counselor linked to those couples."""
    erasure.people |= set(
        db.session.scalars(
            sa.select(CounselorLink.counselor_id).where(
                CounselorLink.couple_id.in_(erasure.couple_ids)
            )
        )
    )


@privacy.on_erase(Step.REMOVE)
def end_links_and_unsign_exercises(erasure: privacy.Erasure) -> None:
    """A counselor's codes go and their links end; their exercises stay, unsigned."""
    counselor_id = erasure.user.id
    db.session.execute(
        sa.delete(CounselorLinkCode).where(CounselorLinkCode.counselor_id == counselor_id)
    )
    db.session.execute(
        sa.update(CounselorLink)
        .where(
            CounselorLink.counselor_id == counselor_id,
            CounselorLink.status.in_(("pending", "active")),
        )
        .values(status="ended", ended_at=erasure.now)
    )
    db.session.execute(
        sa.update(Exercise).where(Exercise.counselor_id == counselor_id).values(counselor_id=None)
    )
