"""Calendar feeds: a partner's private iCalendar URLs. Only a hash of each URL's token is kept."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base, UTCDateTime, created_at_column, id_column


class CalendarFeed(Base):
    """One private feed URL of one partner, serving their couple's upcoming dates.

    It belongs to the couple the partner was in when they made it: when that couple ends, the
    feed ends with it (and a new couple never shows through an old URL).
    """

    __tablename__ = "calendar_feeds"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # SHA-256 of the URL's token (32 random bytes): the URL can't be rebuilt from the database.
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    # The person's own name for it ("Work calendar"); shown only to them, never in the feed.
    label: Mapped[str | None] = mapped_column(sa.String(60))
    created_at: Mapped[datetime] = created_at_column()
    last_fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
