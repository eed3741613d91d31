"""The shared timeline: an append-only record of what happened in a couple."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend import clock
from backend.database import Base, UTCDateTime, id_column

# Every kind of event a service may record. A kind is added here by the feature that records it.
KINDS = (
    "paired",
    "couple_updated",
    "partner_left",
    "checkin_opened",
    "checkin_revealed",
    "checkin_missed",
    "schedule_created",
    "schedule_changed",
    "schedule_paused",
    "schedule_resumed",
    "schedule_deleted",
    "schedule_stopped",
    "agreement_proposed",
    "agreement_amended",
    "agreement_activated",
    "agreement_withdrawn",
    "agreement_ended",
    "agreement_review_due",
    "conversation_started",
    "conversation_step_completed",
    "conversation_paused",
    "conversation_resumed",
    "conversation_completed",
    "conversation_abandoned",
    "counselor_link_proposed",
    "counselor_linked",
    "counselor_link_ended",
    "exercise_assigned",
    "exercise_completed",
)


class TimelineEvent(Base):
    """Something both partners may see happened. `summary` never holds private content."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        # Serves GET /couple/timeline: newest first, keyset over (occurred_at, id).
        sa.Index("ix_timeline_events_couple_occurred", "couple_id", "occurred_at", "id"),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=clock.now)
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    actor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    summary: Mapped[str] = mapped_column(sa.String(200), nullable=False)

    @property
    def subject(self) -> dict[str, str | None] | None:
        """`{type, id}` of what the event is about, or None."""
        if self.subject_type is None:
            return None
        return {"type": self.subject_type, "id": self.subject_id}
