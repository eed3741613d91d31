"""Check-ins: the prompt library, and check-ins both partners answer on their own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend import clock
from backend.database import Base, UTCDateTime, created_at_column, id_column

PROMPT_KINDS = ("scale", "choice", "multi_choice", "text")
# missed: a scheduled occurrence whose window had passed before it could be opened.
CHECKIN_STATUSES = ("open", "revealed", "expired", "missed")
CHECKIN_SOURCES = ("manual", "scheduled", "exercise")
VISIBILITIES = ("shared", "private")


class Prompt(Base):
    """A question of the library, by its stable key. Its wording lives in revisions."""

    __tablename__ = "prompts"

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    category: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    current_revision: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    revisions: Mapped[list[PromptRevision]] = relationship(
        back_populates="prompt", order_by="PromptRevision.revision"
    )


class PromptRevision(Base):
    """One wording of a prompt. Answers point here, so they keep the text they were given."""

    __tablename__ = "prompt_revisions"
    __table_args__ = (
        sa.UniqueConstraint("prompt_id", "revision", name="uq_prompt_revisions_prompt_revision"),
    )

    id: Mapped[str] = id_column()
    prompt_id: Mapped[str] = mapped_column(
        sa.ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False
    )
    revision: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    kind: Mapped[str] = mapped_column(
        sa.Enum(*PROMPT_KINDS, name="prompt_kind", native_enum=False, create_constraint=True),
        nullable=False,
    )
    text: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    help: Mapped[str | None] = mapped_column(sa.String(500))
    # Kind-specific settings: min/max/labels, options, max_choices, max_length.
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    content_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    prompt: Mapped[Prompt] = relationship(back_populates="revisions", lazy="joined")

    @property
    def key(self) -> str:
        """The prompt's stable key."""
        return self.prompt.key

    @property
    def category(self) -> str:
        """The prompt's category."""
        return self.prompt.category


class PromptSet(Base):
    """A named, ordered set of prompts answered together."""

    __tablename__ = "prompt_sets"

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    suggested_frequency: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    content_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[PromptSetItem]] = relationship(
        order_by="PromptSetItem.position", cascade="all, delete-orphan", lazy="selectin"
    )


class PromptSetItem(Base):
    """A prompt's place in a set."""

    __tablename__ = "prompt_set_items"

    set_id: Mapped[str] = mapped_column(
        sa.ForeignKey("prompt_sets.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    prompt_id: Mapped[str] = mapped_column(sa.ForeignKey("prompts.id"), nullable=False)

    prompt: Mapped[Prompt] = relationship(lazy="joined")


class Checkin(Base):
    """One occasion on which both partners answer the same prompts on their own."""

    __tablename__ = "checkins"
    __table_args__ = (
        sa.Index("ix_checkins_couple_opened", "couple_id", "opened_at", "id"),
        sa.Index("ix_checkins_status_closes", "status", "closes_at"),
        sa.Index("ix_checkins_status_remind", "status", "remind_at"),
        # One check-in per occurrence of a schedule, whatever crashes or processes race.
        sa.UniqueConstraint("schedule_id", "due_at", name="uq_checkins_schedule_due"),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    prompt_set_key: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    source: Mapped[str] = mapped_column(
        sa.Enum(*CHECKIN_SOURCES, name="checkin_source", native_enum=False, create_constraint=True),
        nullable=False,
    )
    status: Mapped[str] = mapped_column(
        sa.Enum(
            *CHECKIN_STATUSES, name="checkin_status", native_enum=False, create_constraint=True
        ),
        nullable=False,
        default="open",
    )
    opened_by_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=clock.now)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    schedule_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("schedules.id", ondelete="SET NULL")
    )
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[CheckinItem]] = relationship(
        order_by="CheckinItem.position", cascade="all, delete-orphan", lazy="selectin"
    )
    responses: Mapped[list[CheckinResponse]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    def response_of(self, user_id: str) -> CheckinResponse | None:
        """One partner's response."""
        return next((r for r in self.responses if r.user_id == user_id), None)

    def other_response(self, user_id: str) -> CheckinResponse | None:
        """The response of the partner who is not `user_id` (for a counselor: the first)."""
        return next((r for r in self.responses if r.user_id != user_id), None)

    @property
    def prompts(self) -> list[PromptRevision]:
        """The prompts asked, in the wording frozen when it opened."""
        return [item.prompt for item in self.items]


class CheckinItem(Base):
    """A prompt revision asked in a check-in, frozen when it opened."""

    __tablename__ = "checkin_items"

    checkin_id: Mapped[str] = mapped_column(
        sa.ForeignKey("checkins.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    prompt_revision_id: Mapped[str] = mapped_column(
        sa.ForeignKey("prompt_revisions.id"), nullable=False
    )

    prompt: Mapped[PromptRevision] = relationship(lazy="joined")


class CheckinResponse(Base):
    """One partner's answers to a check-in, and whether they have submitted them."""

    __tablename__ = "checkin_responses"
    __table_args__ = (
        sa.UniqueConstraint("checkin_id", "user_id", name="uq_checkin_responses_checkin_user"),
        sa.Index("ix_checkin_responses_user_id", "user_id"),
    )

    id: Mapped[str] = id_column()
    checkin_id: Mapped[str] = mapped_column(
        sa.ForeignKey("checkins.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )

    answers: Mapped[list[Answer]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Answer.position"
    )


class Answer(Base):
    """An answer to one prompt. `private` ones are returned to their author alone."""

    __tablename__ = "answers"
    __table_args__ = (
        sa.UniqueConstraint("response_id", "prompt_revision_id", name="uq_answers_response_prompt"),
        sa.Index("ix_answers_prompt_revision_id", "prompt_revision_id"),
    )

    id: Mapped[str] = id_column()
    response_id: Mapped[str] = mapped_column(
        sa.ForeignKey("checkin_responses.id", ondelete="CASCADE"), nullable=False
    )
    prompt_revision_id: Mapped[str] = mapped_column(
        sa.ForeignKey("prompt_revisions.id"), nullable=False
    )
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    value: Mapped[Any] = mapped_column(sa.JSON, nullable=False)
    visibility: Mapped[str] = mapped_column(
        sa.Enum(*VISIBILITIES, name="answer_visibility", native_enum=False, create_constraint=True),
        nullable=False,
        default="shared",
    )

    prompt: Mapped[PromptRevision] = relationship(lazy="joined")
