"""What notifications hold about a person: their part of the export and of erasure.

Their notifications and devices; in erasure, both go, and their names leave the
notifications everyone else of their couples received.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db
from backend.notifications.models import Device, Notification
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_export("notifications")
def export_notifications(request: privacy.Export) -> list[dict[str, Any]]:
    """The notifications they received, oldest first."""
    return [
        {
            "id": n.id,
            "kind": n.kind,
            "title": n.title,
            "body": n.body,
            "created_at": n.created_at,
            "read_at": n.read_at,
        }
        for n in db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == request.user.id)
            .order_by(Notification.created_at)
        )
    ]


@privacy.on_export("devices")
def export_devices(request: privacy.Export) -> list[dict[str, Any]]:
    """The devices that received their pushes, with their push tokens."""
    return [
        {
            "id": d.id,
            "platform": d.platform,
            "label": d.label,
            "token": d.token,
            "created_at": d.created_at,
            "last_used_at": d.last_used_at,
        }
        for d in db.session.scalars(sa.select(Device).where(Device.user_id == request.user.id))
    ]


@privacy.on_erase(Step.REMOVE)
def remove_notifications_and_devices(erasure: privacy.Erasure) -> None:
    """Their devices and notifications go."""
    db.session.execute(sa.delete(Device).where(Device.user_id == erasure.user.id))
    db.session.execute(sa.delete(Notification).where(Notification.user_id == erasure.user.id))


@privacy.on_erase(Step.SCRUB)
def scrub_notifications(erasure: privacy.Erasure) -> None:
    """Everyone's notifications in their couples that spell out one of their names."""
    scrub = erasure.name_scrubber()
    if scrub is None:
        return
    notes = sa.select(Notification).where(
        Notification.couple_id.in_(erasure.couple_ids),
        scrub.mentions(Notification.title, Notification.body),
    )
    for note in db.session.scalars(notes):
        note.title = scrub.text(note.title, 120)
        note.body = scrub.text(note.body, 400)
