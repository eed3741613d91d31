"""Counselors: links a couple consented to, link codes, and the exercises they assign."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.database import Base, UTCDateTime, created_at_column, id_column

SCOPES = ("progress", "shared_content")
LINK_STATUSES = ("pending", "active", "revoked", "ended")
EXERCISE_KINDS = ("checkin", "conversation", "reflection")
EXERCISE_STATUSES = ("open", "completed", "cancelled")


class CounselorLinkCode(Base):
    """A code a counselor gives a couple; single use, 7 days. Only an HMAC is stored."""

    __tablename__ = "counselor_link_codes"

    id: Mapped[str] = id_column()
    counselor_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CounselorLink(Base):
    """A counselor's link to a couple: pending until the second partner consents."""

    __tablename__ = "counselor_links"
    __table_args__ = (
        # One live link per counselor and couple.
        sa.Index(
            "uq_counselor_links_live",
            "couple_id",
            "counselor_id",
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'active')"),
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        ),
        sa.Index("ix_counselor_links_counselor_status", "counselor_id", "status"),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False, index=True
    )
    counselor_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    scope: Mapped[str] = mapped_column(
        sa.Enum(*SCOPES, name="counselor_scope", native_enum=False, create_constraint=True),
        nullable=False,
        default="progress",
    )
    status: Mapped[str] = mapped_column(
        sa.Enum(
            *LINK_STATUSES, name="counselor_link_status", native_enum=False, create_constraint=True
        ),
        nullable=False,
        default="pending",
    )
    proposed_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    proposed_at: Mapped[datetime] = created_at_column()
    consented_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # When the counselor last opened this couple in the web console: the console's "since your
    # last visit" digest starts here. The counselor's own bookkeeping; no partner's data.
    counselor_visited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Exercise(Base):
    """An exercise a linked counselor assigned between sessions."""

    __tablename__ = "exercises"
    __table_args__ = (
        sa.Index("ix_exercises_couple_created", "couple_id", "created_at", "id"),
        sa.Index("ix_exercises_status_due", "status", "due_on"),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    counselor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(
        sa.Enum(*EXERCISE_KINDS, name="exercise_kind", native_enum=False, create_constraint=True),
        nullable=False,
    )
    template: Mapped[str | None] = mapped_column(sa.String(64))
    instructions: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    prompts: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[str] = mapped_column(
        sa.Enum(
            *EXERCISE_STATUSES, name="exercise_status", native_enum=False, create_constraint=True
        ),
        nullable=False,
        default="open",
    )
    checkin_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("checkins.id", ondelete="SET NULL"), index=True
    )
    conversation_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    participants: Mapped[list[ExerciseParticipant]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    def part_of(self, user_id: str) -> ExerciseParticipant | None:
        """One partner's part."""
        return next((p for p in self.participants if p.user_id == user_id), None)


class ExerciseParticipant(Base):
    """One partner's part in an exercise."""

    __tablename__ = "exercise_participants"

    exercise_id: Mapped[str] = mapped_column(
        sa.ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
