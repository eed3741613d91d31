"""What the journal holds about a person: their entries, all exported, all erased."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db
from backend.journal.models import JournalEntry
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_export("journal")
def export_journal(request: privacy.Export) -> list[dict[str, Any]]:
    """Their journal entries, oldest first."""
    return [
        {"id": j.id, "title": j.title, "text": j.text, "created_at": j.created_at}
        for j in db.session.scalars(
            sa.select(JournalEntry)
            .where(JournalEntry.user_id == request.user.id)
            .order_by(JournalEntry.created_at)
        )
    ]


@privacy.on_erase(Step.REMOVE)
def remove_journal(erasure: privacy.Erasure) -> None:
    """Their journal goes."""
    db.session.execute(sa.delete(JournalEntry).where(JournalEntry.user_id == erasure.user.id))
