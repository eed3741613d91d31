"""Guided conversations: a template's steps walked together, with turn-taking and time-outs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend import clock
from backend.database import Base, UTCDateTime, created_at_column, id_column

STATUSES = ("active", "paused", "completed", "abandoned")


class Conversation(Base):
    """A conversation following a template, frozen as it was when it started."""

    __tablename__ = "conversations"
    __table_args__ = (
        sa.Index("ix_conversations_couple_started", "couple_id", "started_at", "id"),
        sa.Index("ix_conversations_status_paused", "status", "paused_at"),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    template_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # The template's title, roles and steps at the start, so later edits don't move it.
    template: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    # role -> user id, as assigned at the start (speaker/listener swap as steps say).
    roles: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False)
    status: Mapped[str] = mapped_column(
        sa.Enum(*STATUSES, name="conversation_status", native_enum=False, create_constraint=True),
        nullable=False,
        default="active",
    )
    current_step: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    started_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=clock.now)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    pause_prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    abandoned_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )

    entries: Mapped[list[ConversationEntry]] = relationship(
        order_by="(ConversationEntry.created_at, ConversationEntry.id)",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    readiness: Mapped[list[ConversationReady]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The frozen steps."""
        return self.template["steps"]


class ConversationEntry(Base):
    """What one partner wrote in one step. Never on the timeline."""

    __tablename__ = "conversation_entries"
    __table_args__ = (sa.Index("ix_conversation_entries_conversation", "conversation_id"),)

    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    step_index: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    author_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class ConversationReady(Base):
    """A partner's agreement to move on from a step."""

    __tablename__ = "conversation_readiness"

    conversation_id: Mapped[str] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    step_index: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    ready_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=clock.now)
