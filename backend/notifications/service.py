"""Notifications: stored in the caller's transaction, read in the feed, pushed by the tick."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from backend import clock
from backend.errors import NotFound
from backend.extensions import db
from backend.ids import new_id
from backend.notifications.models import Device, Notification
from backend.pagination import Page, keyset_page


def notification_rows(
    *,
    user_ids: Iterable[str],
    kind: str,
    title: str,
    body: str,
    couple_id: str | None = None,
    subject: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The columns of one notification per user. Never private content."""
    now = clock.now()
    return [
        {
            "id": new_id(),
            "user_id": user_id,
            "couple_id": couple_id,
            "kind": kind,
            "title": title,
            "body": body,
            "subject_type": subject[0] if subject else None,
            "subject_id": subject[1] if subject else None,
            "created_at": now,
            "read_at": None,
            "push_status": "pending",
            "push_attempts": 0,
            "push_next_attempt_at": now,
        }
        for user_id in user_ids
    ]


def notify(
    *,
    user_ids: Iterable[str],
    kind: str,
    title: str,
    body: str,
    couple_id: str | None = None,
    subject: tuple[str, str] | None = None,
) -> list[Notification]:
    """Store one notification per user (no commit: the caller's use case commits)."""
    created = [
        Notification(**row)
        for row in notification_rows(
            user_ids=user_ids,
            kind=kind,
            title=title,
            body=body,
            couple_id=couple_id,
            subject=subject,
        )
    ]
    db.session.add_all(created)
    return created


def feed(
    *, user_id: str, limit: int, cursor: str | None, unread: bool | None = None
) -> Page[Notification]:
    """A page of the person's notifications, newest first."""
    statement = sa.select(Notification).where(Notification.user_id == user_id)
    if unread is True:
        statement = statement.where(Notification.read_at.is_(None))
    elif unread is False:
        statement = statement.where(Notification.read_at.is_not(None))
    return keyset_page(
        statement,
        moment_column=Notification.created_at,
        id_column=Notification.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def mark_read(*, user_id: str, ids: list[str] | None, everything: bool) -> int:
    """Mark some (or all) of the person's notifications read; returns how many changed."""
    statement = sa.update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if not everything:
        statement = statement.where(Notification.id.in_(ids or []))
    changed = db.session.execute(
        statement.values(read_at=clock.now()).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return changed


def add_device(*, user_id: str, platform: str, token: str, session_id: str | None = None) -> Device:
    """Register a device for pushes (registering the same token again returns it)."""
    device = db.session.scalar(
        sa.select(Device).where(Device.user_id == user_id, Device.token == token)
    )
    if device is None:
        device = Device(user_id=user_id, platform=platform, token=token, session_id=session_id)
        db.session.add(device)
    else:
        device.platform = platform
        device.session_id = session_id
    db.session.commit()
    return device


def remove_device(*, device: Device) -> None:
    """Stop pushes to a device."""
    db.session.delete(device)
    db.session.commit()


def device_of(user_id: str, device_id: str) -> Device:
    """One of the person's devices; 404 otherwise."""
    device = db.session.get(Device, device_id)
    if device is None or device.user_id != user_id:
        raise NotFound("There is no device with this id that you can see.")
    return device


def unread_count(*, user_id: str) -> int:
    """How many of the person's notifications are unread."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
