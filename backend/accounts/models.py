"""Accounts: people, their login sessions and the refresh tokens of each session."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend import clock
from backend.database import Base, UTCDateTime, created_at_column, id_column

ROLES = ("partner", "counselor")


class User(Base):
    """A partner or a counselor."""

    __tablename__ = "users"

    id: Mapped[str] = id_column()
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    # Names used before a rename, kept only so erasure can scrub them from texts written with
    # them (timeline summaries, notifications); erased with the account.
    former_display_names: Mapped[list[str] | None] = mapped_column(sa.JSON)
    role: Mapped[str] = mapped_column(
        sa.Enum(*ROLES, name="user_role", native_enum=False, create_constraint=True),
        nullable=False,
    )
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    timezone: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="UTC")
    # Pushed text says only "You have a new update in Trustline" (a lock screen can be seen).
    discreet_notifications: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.true()
    )
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now, onupdate=clock.now
    )
    password_changed_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=clock.now
    )

    sessions: Mapped[list[AuthSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class AuthSession(Base):
    """One login: the family of access and refresh tokens it issued.

    Revoking the session revokes every token of the family at once; the check runs on every
    request, so it holds across processes.
    """

    __tablename__ = "auth_sessions"
    __table_args__ = (sa.Index("ix_auth_sessions_user_id", "user_id"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # Touched at most once a minute (see service.touch_session), never per request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "Safari on iPhone", from the client's own label or its User-Agent at login: never the
    # raw User-Agent, never an address. Shown to the account holder only.
    client_description: Mapped[str | None] = mapped_column(sa.String(80))

    user: Mapped[User] = relationship(back_populates="sessions")
    refresh_tokens: Mapped[list[RefreshToken]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def revoked(self) -> bool:
        """Whether the session (and every token it issued) is revoked."""
        return self.revoked_at is not None


class RefreshToken(Base):
    """A refresh token, by its JWT id. Each works once; reuse revokes the whole session."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (sa.Index("ix_refresh_tokens_session_id", "session_id"),)

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"), nullable=False
    )
    issued_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[AuthSession] = relationship(back_populates="refresh_tokens")


class AccountActivity(Base):
    """A security-relevant event of one account, shown to its holder alone (GET /me/activity).

    Written by the services in the same transaction as the change. `details` holds ids, kinds
    and counts, never personal content; nothing here names an address or a place. Kept
    90 days, erased with the account.
    """

    __tablename__ = "account_activity"
    __table_args__ = (
        sa.Index("ix_account_activity_user_created", "user_id", "created_at", "id"),
        sa.Index("ix_account_activity_created_at", "created_at"),  # the 90-day purge
        # Events counted in place (failed sign-ins, one row per account and hour) share a key.
        sa.UniqueConstraint("user_id", "group_key"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    # The login that acted, by id and as it described itself: no foreign key, so the event
    # still says where it came from after that login has ended and been purged.
    session_id: Mapped[str | None] = mapped_column(sa.String(22))
    session_description: Mapped[str | None] = mapped_column(sa.String(80))
    details: Mapped[dict | None] = mapped_column(sa.JSON)
    count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    group_key: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=clock.now)
