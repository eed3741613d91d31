"""The private safety check: its author's alone, changing nothing a partner can observe."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base, UTCDateTime


class SafetyCheck(Base):
    """A person's answers to the safety questions, and whether they signal a concern."""

    __tablename__ = "safety_checks"

    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    answers: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False)
    concern: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
