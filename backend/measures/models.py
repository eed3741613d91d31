"""Measures: questionnaires (the library and counselors' own), responses, schedules, sharing.

A response is personal health information of one partner: it belongs to a user, never to a
couple, so no couple-scoped query can reach it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend import clock
from backend.database import Base, UTCDateTime, created_at_column, id_column

ORIGINS = ("library", "counselor")
# validated: a published instrument; trustline_check: written for Trustline, not validated;
# counselor: a counselor's own questionnaire.
MEASURE_KINDS = ("validated", "trustline_check", "counselor")
MEASURE_STATUSES = ("draft", "published", "retired")
ITEM_KINDS = ("scale", "single_choice", "short_text")
FREQUENCIES = ("once", "weekly", "biweekly", "every_4_weeks")
ASSIGNMENT_STATUSES = ("active", "ended")
# A partner's place in an assignment: active (occurrences to come), done (a `once` that
# fired), ended (the assignment, the link or the couple ended).
PARTNER_STATUSES = ("active", "done", "ended")
RESPONSE_SOURCES = ("self", "assigned")
# missed: an assigned occurrence whose window had passed before it could be opened.
RESPONSE_STATUSES = ("open", "submitted", "expired", "missed")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


class Measure(Base):
    """A questionnaire by its stable key. Its wording lives in versions."""

    __tablename__ = "measures"
    __table_args__ = (sa.Index("ix_measures_author_id", "author_id"),)

    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    origin: Mapped[str] = mapped_column(_enum(ORIGINS, "measure_origin"), nullable=False)
    kind: Mapped[str] = mapped_column(_enum(MEASURE_KINDS, "measure_kind"), nullable=False)
    status: Mapped[str] = mapped_column(
        _enum(MEASURE_STATUSES, "measure_status"), nullable=False, default="draft"
    )
    # The counselor who wrote it (library measures: none). Kept when they erase their
    # account: partners' responses point at it.
    author_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    current_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = created_at_column()
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions: Mapped[list[MeasureVersion]] = relationship(
        back_populates="measure", order_by="MeasureVersion.version", cascade="all, delete-orphan"
    )

    def current(self) -> MeasureVersion:
        """The version a response opened now would answer."""
        return next(v for v in self.versions if v.version == self.current_version)


class MeasureVersion(Base):
    """One wording of a measure. A published version is frozen; responses point here."""

    __tablename__ = "measure_versions"
    __table_args__ = (
        sa.UniqueConstraint("measure_id", "version", name="uq_measure_versions_measure_version"),
    )

    id: Mapped[str] = id_column()
    measure_id: Mapped[str] = mapped_column(
        sa.ForeignKey("measures.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    instructions: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    # [{key, kind, text, min, max, anchors, options, max_length, optional, risk}]
    items: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, nullable=False)
    # {method: "sum", items: [...], bands: [{min, max, key, label}]}, or none
    scoring: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # {name, url, checked_on, attribution, terms}, or none (a counselor's own)
    source: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    measure: Mapped[Measure] = relationship(back_populates="versions", lazy="joined")

    def item(self, key: str) -> dict[str, Any] | None:
        """One item by its key."""
        return next((i for i in self.items if i["key"] == key), None)


class MeasureAssignment(Base):
    """A counselor's request that one or both partners answer a measure, once or repeatedly."""

    __tablename__ = "measure_assignments"
    __table_args__ = (sa.Index("ix_measure_assignments_couple_id", "couple_id"),)

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    counselor_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    measure_id: Mapped[str] = mapped_column(sa.ForeignKey("measures.id"), nullable=False)
    frequency: Mapped[str] = mapped_column(_enum(FREQUENCIES, "measure_frequency"), nullable=False)
    local_time: Mapped[str] = mapped_column(sa.String(5), nullable=False)
    window_hours: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = mapped_column(
        _enum(ASSIGNMENT_STATUSES, "measure_assignment_status"), nullable=False, default="active"
    )
    created_at: Mapped[datetime] = created_at_column()
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    measure: Mapped[Measure] = relationship(lazy="joined")
    partners: Mapped[list[AssignedPartner]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AssignedPartner.user_id"
    )


class AssignedPartner(Base):
    """One partner's occurrences of an assignment, in their own local time: what the tick
    claims. Each partner has their own row because each has their own time zone."""

    __tablename__ = "measure_assignment_partners"
    __table_args__ = (
        sa.Index(
            "ix_measure_assignment_partners_due",
            "next_due_at",
            sqlite_where=sa.text("status = 'active'"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.Index("ix_measure_assignment_partners_user_id", "user_id"),
        sa.UniqueConstraint(
            "assignment_id", "user_id", name="uq_measure_assignment_partners_assignment_user"
        ),
    )

    id: Mapped[str] = id_column()
    assignment_id: Mapped[str] = mapped_column(
        sa.ForeignKey("measure_assignments.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    # The partner's weekday of the first occurrence (mon..sun): later ones keep to it.
    weekday: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(
        _enum(PARTNER_STATUSES, "measure_partner_status"), nullable=False, default="active"
    )


class MeasureResponse(Base):
    """One person's answers to one measure version: theirs alone."""

    __tablename__ = "measure_responses"
    __table_args__ = (
        # One response per occurrence of an assignment, whatever crashes or processes race.
        sa.UniqueConstraint(
            "assignment_id", "user_id", "due_at", name="uq_measure_responses_assignment_user_due"
        ),
        sa.Index("ix_measure_responses_user_opened", "user_id", "opened_at", "id"),
        sa.Index("ix_measure_responses_status_closes", "status", "closes_at"),
        sa.Index("ix_measure_responses_status_remind", "status", "remind_at"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    measure_id: Mapped[str] = mapped_column(sa.ForeignKey("measures.id"), nullable=False)
    measure_version_id: Mapped[str] = mapped_column(
        sa.ForeignKey("measure_versions.id"), nullable=False
    )
    assignment_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("measure_assignments.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(
        _enum(RESPONSE_SOURCES, "measure_response_source"), nullable=False
    )
    status: Mapped[str] = mapped_column(
        _enum(RESPONSE_STATUSES, "measure_response_status"), nullable=False, default="open"
    )
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=clock.now)
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # {item key: value}
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    score: Mapped[int | None] = mapped_column(sa.Integer)
    band: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )

    version: Mapped[MeasureVersion] = relationship(lazy="joined")


class MeasureSharing(Base):
    """A partner's choice about one counselor link: share their scores, and be alerted on risk."""

    __tablename__ = "measure_sharing"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "link_id", name="uq_measure_sharing_user_link"),
        sa.Index("ix_measure_sharing_link_id", "link_id"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    link_id: Mapped[str] = mapped_column(
        sa.ForeignKey("counselor_links.id", ondelete="CASCADE"), nullable=False
    )
    share: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    alert_on_risk: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    shared_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )
