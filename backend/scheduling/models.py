"""Schedules: when a couple's shared check-ins arrive, in their own local time."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend import clock
from backend.database import Base, UTCDateTime, created_at_column, id_column

FREQUENCIES = ("daily", "weekly")
STATUSES = ("active", "stopped")


class Schedule(Base):
    """A rule in the couple's local time, and the UTC instant it next fires."""

    __tablename__ = "schedules"
    __table_args__ = (
        # The tick's claim: due, active, not paused.
        sa.Index(
            "ix_schedules_due",
            "next_due_at",
            sqlite_where=sa.text("status = 'active' AND paused = 0"),
            postgresql_where=sa.text("status = 'active' AND paused = false"),
        ),
        sa.Index("ix_schedules_couple_id", "couple_id"),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    prompt_set_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    frequency: Mapped[str] = mapped_column(
        sa.Enum(*FREQUENCIES, name="schedule_frequency", native_enum=False, create_constraint=True),
        nullable=False,
    )
    weekdays: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    local_time: Mapped[str] = mapped_column(sa.String(5), nullable=False)
    # NULL: follow the couple's time zone, also when the couple changes it.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    window_hours: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reminder_hours_before_close: Mapped[int | None] = mapped_column(sa.Integer)
    paused: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(
        sa.Enum(*STATUSES, name="schedule_status", native_enum=False, create_constraint=True),
        nullable=False,
        default="active",
    )
    next_due_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )
