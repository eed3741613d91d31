"""Couples: two partners paired by an invite code."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend import clock
from backend.accounts.models import User
from backend.database import Base, UTCDateTime, created_at_column, id_column

STATUSES = ("active", "ended")


class Couple(Base):
    """Two partners. Once `ended` it is read-only for both, for good."""

    __tablename__ = "couples"

    id: Mapped[str] = id_column()
    status: Mapped[str] = mapped_column(
        sa.Enum(*STATUSES, name="couple_status", native_enum=False, create_constraint=True),
        nullable=False,
        default="active",
    )
    name: Mapped[str | None] = mapped_column(sa.String(80))
    timezone: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Loaded when used: most couple-scoped requests need only the couple's id.
    members: Mapped[list[CoupleMember]] = relationship(
        back_populates="couple",
        cascade="all, delete-orphan",
        order_by="(CoupleMember.joined_at, CoupleMember.id)",
    )

    @property
    def is_active(self) -> bool:
        """Whether the couple can still be changed."""
        return self.status == "active"

    def member_ids(self) -> list[str]:
        """The ids of both partners."""
        return [member.user_id for member in self.members]

    def partner_of(self, user_id: str) -> str | None:
        """The id of the other partner."""
        return next((m.user_id for m in self.members if m.user_id != user_id), None)


class CoupleMember(Base):
    """A partner's place in a couple. A person is in at most one active couple at a time."""

    __tablename__ = "couple_members"
    __table_args__ = (
        sa.UniqueConstraint("couple_id", "user_id", name="uq_couple_members_couple_user"),
        # "The caller's couple", on every couple-scoped request (active or ended).
        sa.Index("ix_couple_members_user_id", "user_id"),
        # Enforced by the database, so two pairings racing each other can't both win.
        sa.Index(
            "uq_couple_members_active_user",
            "user_id",
            unique=True,
            sqlite_where=sa.text("ended_at IS NULL"),
            postgresql_where=sa.text("ended_at IS NULL"),
        ),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    joined_at: Mapped[datetime] = created_at_column()
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The name the partner had when they left: what the other partner sees of them afterwards,
    # never a live view of a profile that is no longer theirs to see.
    display_name_at_end: Mapped[str | None] = mapped_column(sa.String(80))

    couple: Mapped[Couple] = relationship(back_populates="members")
    user: Mapped[User] = relationship(lazy="joined")


class PairingInvite(Base):
    """A single-use code one partner gives the other. Only a hash of the code is stored."""

    __tablename__ = "pairing_invites"
    __table_args__ = (sa.Index("ix_pairing_invites_inviter_id", "inviter_id"),)

    id: Mapped[str] = id_column()
    code_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    inviter_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    used_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    couple_id: Mapped[str | None] = mapped_column(sa.ForeignKey("couples.id", ondelete="SET NULL"))
