"""Storing notifications, in the caller's transaction. Delivery to phones comes later."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from backend import clock
from backend.extensions import db
from backend.ids import new_id
from backend.notifications.models import Notification


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
