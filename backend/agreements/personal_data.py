"""What agreements hold about a person: their part of the export and of erasure.

The couple's agreements as the person may see them; in erasure, what they proposed shows as
removed (the versions stay, so the partner's history does not jump), and the reason they
gave for a withdrawal goes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.agreements import service as agreements
from backend.agreements.models import Agreement, AgreementItem, AgreementVersion
from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_export_of_couple("agreements")
def export_agreements(
    request: privacy.Export, couple: privacy.SharedCouple
) -> list[dict[str, Any]]:
    """The couple's agreements as GET /agreements/{id} shows them to the person."""
    return [
        agreements.agreement_for_viewer(agreement, request.user.id)
        for agreement in db.session.scalars(
            sa.select(Agreement)
            .where(Agreement.couple_id == couple.id)
            .order_by(Agreement.created_at)
        )
    ]


@privacy.on_erase(Step.REMOVE)
def remove_what_they_proposed(erasure: privacy.Erasure) -> None:
    """The titles and items of the versions they proposed, and their withdrawal reasons."""
    user_id = erasure.user.id
    proposed = sa.select(AgreementVersion.id).where(AgreementVersion.proposed_by_id == user_id)
    db.session.execute(
        sa.update(AgreementItem)
        .where(AgreementItem.version_id.in_(proposed))
        .values(text=privacy.REMOVED)
    )
    db.session.execute(
        sa.update(AgreementVersion)
        .where(AgreementVersion.proposed_by_id == user_id)
        .values(title=privacy.REMOVED)
    )
    db.session.execute(
        sa.update(Agreement)
        .where(Agreement.withdrawn_by_id == user_id)
        .values(withdraw_reason=None)
    )
