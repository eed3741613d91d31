"""The private journal: its author's alone."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend import clock
from backend.database import Base, UTCDateTime, created_at_column, id_column


class JournalEntry(Base):
    """A private note. Never shown to a partner or counselor, never on the timeline."""

    __tablename__ = "journal_entries"
    __table_args__ = (sa.Index("ix_journal_entries_user_created", "user_id", "created_at", "id"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    title: Mapped[str | None] = mapped_column(sa.String(120))
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )
