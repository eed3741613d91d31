"""Storing notifications, in the caller's transaction. Delivery to phones comes later."""

from __future__ import annotations

from collections.abc import Iterable

from backend.extensions import db
from backend.notifications.models import Notification


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
    created = []
    for user_id in user_ids:
        notification = Notification(
            user_id=user_id,
            couple_id=couple_id,
            kind=kind,
            title=title,
            body=body,
            subject_type=subject[0] if subject else None,
            subject_id=subject[1] if subject else None,
        )
        db.session.add(notification)
        created.append(notification)
    return created
