"""Notifications: the in-app feed, the person's devices, and the push outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backend.database import Base, UTCDateTime, created_at_column, id_column

PUSH_STATUSES = ("pending", "sending", "delivered", "failed", "skipped")
PLATFORMS = ("ios", "android", "web")


class Notification(Base):
    """Something that needs one person's attention. Never holds private content."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_created", "user_id", "created_at", "id"),
        # The push outbox: notifications waiting to be sent, by when to try next.
        sa.Index("ix_notifications_push_due", "push_status", "push_next_attempt_at"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    couple_id: Mapped[str | None] = mapped_column(sa.ForeignKey("couples.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    body: Mapped[str] = mapped_column(sa.String(400), nullable=False)
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at_column()
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # pending -> sending (leased) -> delivered | failed | skipped (no device or no relay)
    push_status: Mapped[str] = mapped_column(
        sa.Enum(*PUSH_STATUSES, name="push_status", native_enum=False, create_constraint=True),
        nullable=False,
        default="pending",
    )
    push_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    push_next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    push_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Device(Base):
    """A phone (or browser) that receives push notifications."""

    __tablename__ = "devices"
    __table_args__ = (sa.UniqueConstraint("user_id", "token", name="uq_devices_user_token"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    platform: Mapped[str] = mapped_column(
        sa.Enum(*PLATFORMS, name="device_platform", native_enum=False, create_constraint=True),
        nullable=False,
    )
    token: Mapped[str] = mapped_column(sa.String(512), nullable=False)
    # The login that registered it: when that login ends, pushes to the device stop.
    session_id: Mapped[str | None] = mapped_column(sa.String(22), index=True)
    # The person's own name for it ("Work phone"); shown only to them.
    label: Mapped[str | None] = mapped_column(sa.String(60))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PushAttempt(Base):
    """One attempt to hand a notification to the push relay."""

    __tablename__ = "push_attempts"

    id: Mapped[str] = id_column()
    notification_id: Mapped[str] = mapped_column(
        sa.ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False, index=True
    )
    attempted_at: Mapped[datetime] = created_at_column()
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    error: Mapped[str | None] = mapped_column(sa.String(200))
    succeeded: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
