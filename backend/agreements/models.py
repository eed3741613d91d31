"""Transparency agreements: mutual commitments, versioned, each version consented to by both."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend import clock
from backend.database import Base, UTCDateTime, created_at_column, id_column

STATUSES = ("proposed", "active", "withdrawn", "ended")
VERSION_STATUSES = ("proposed", "active", "superseded", "replaced")
CATEGORIES = ("contact", "devices", "plans", "finances", "social_media", "other")


class Agreement(Base):
    """An agreement between the two partners. `revision` changes with every change (ETag)."""

    __tablename__ = "agreements"
    __table_args__ = (
        sa.Index("ix_agreements_couple_created", "couple_id", "created_at", "id"),
        sa.Index("ix_agreements_status", "status"),
    )

    id: Mapped[str] = id_column()
    couple_id: Mapped[str] = mapped_column(
        sa.ForeignKey("couples.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = mapped_column(
        sa.Enum(*STATUSES, name="agreement_status", native_enum=False, create_constraint=True),
        nullable=False,
        default="proposed",
    )
    revision: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    created_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    withdraw_reason: Mapped[str | None] = mapped_column(sa.String(500))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions: Mapped[list[AgreementVersion]] = relationship(
        order_by="AgreementVersion.number",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    @property
    def active_version(self) -> AgreementVersion | None:
        """The version in force, if any."""
        return next((v for v in self.versions if v.status == "active"), None)

    @property
    def pending_proposal(self) -> AgreementVersion | None:
        """The latest proposal still waiting for consent, if any."""
        return next((v for v in reversed(self.versions) if v.status == "proposed"), None)

    @property
    def current(self) -> AgreementVersion:
        """The version that describes the agreement now: in force, else the proposal."""
        return self.active_version or self.pending_proposal or self.versions[-1]

    @property
    def is_open(self) -> bool:
        """Whether the agreement can still change (not withdrawn or ended)."""
        return self.status in ("proposed", "active")


class AgreementVersion(Base):
    """One wording of the agreement, proposed by one partner."""

    __tablename__ = "agreement_versions"
    __table_args__ = (
        sa.UniqueConstraint("agreement_id", "number", name="uq_agreement_versions_number"),
    )

    id: Mapped[str] = id_column()
    agreement_id: Mapped[str] = mapped_column(
        sa.ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    status: Mapped[str] = mapped_column(
        sa.Enum(
            *VERSION_STATUSES,
            name="agreement_version_status",
            native_enum=False,
            create_constraint=True,
        ),
        nullable=False,
        default="proposed",
    )
    ends_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    review_on: Mapped[date | None] = mapped_column(sa.Date)
    review_notified_for: Mapped[date | None] = mapped_column(sa.Date)
    proposed_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    proposed_at: Mapped[datetime] = created_at_column()
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[AgreementItem]] = relationship(
        order_by="AgreementItem.position", cascade="all, delete-orphan", lazy="selectin"
    )
    consents: Mapped[list[AgreementConsent]] = relationship(
        order_by="AgreementConsent.consented_at", cascade="all, delete-orphan", lazy="selectin"
    )

    def consented_by(self, user_id: str) -> bool:
        """Whether this partner consented to this exact version."""
        return any(c.user_id == user_id for c in self.consents)


class AgreementItem(Base):
    """One commitment, binding one or both partners (stored as the users it binds)."""

    __tablename__ = "agreement_items"
    __table_args__ = (sa.Index("ix_agreement_items_version_id", "version_id"),)

    id: Mapped[str] = id_column()
    version_id: Mapped[str] = mapped_column(
        sa.ForeignKey("agreement_versions.id", ondelete="CASCADE"), nullable=False
    )
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    category: Mapped[str] = mapped_column(
        sa.Enum(*CATEGORIES, name="agreement_category", native_enum=False, create_constraint=True),
        nullable=False,
    )
    text: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    binds: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False)
    review_on: Mapped[date | None] = mapped_column(sa.Date)
    review_notified_for: Mapped[date | None] = mapped_column(sa.Date)


class AgreementConsent(Base):
    """A partner's consent to one exact version."""

    __tablename__ = "agreement_consents"

    version_id: Mapped[str] = mapped_column(
        sa.ForeignKey("agreement_versions.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=clock.now)
