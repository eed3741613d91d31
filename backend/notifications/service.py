"""Notifications: stored in the caller's transaction, read in the feed, pushed by the tick."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

from backend import clock
from backend.accounts import service as accounts
from backend.database import insert_rows, insert_unless_present
from backend.errors import NotFound
from backend.extensions import db
from backend.ids import new_id
from backend.notifications.models import Device, Notification
from backend.pagination import Page, keyset_page
from backend.unit_of_work import use_case


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


def store_rows(rows: list[dict[str, Any]]) -> None:
    """Store notifications built by `notification_rows` in one statement (a bulk opening's),
    in the caller's transaction."""
    insert_rows(db.session, Notification, rows)


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


@use_case
def mark_read(*, user_id: str, ids: list[str] | None, everything: bool) -> int:
    """Mark some (or all) of the person's notifications read; returns how many changed."""
    statement = sa.update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if not everything:
        statement = statement.where(Notification.id.in_(ids or []))
    return db.session.execute(
        statement.values(read_at=clock.now()).execution_options(synchronize_session=False)
    ).rowcount


# How the new-device notice names a platform: plain words, nothing about the person.
PLATFORM_NAMES = {
    "ios": "An iPhone or iPad",
    "android": "An Android device",
    "web": "A web browser",
}


@use_case
def register_device(
    *,
    user_id: str,
    session_id: str,
    platform: str,
    token: str,
    label: str | None = None,
    confirm_fresh_login: Callable[[], None],
) -> Device:
    """Register the caller's device for pushes; a device new to this login needs a fresh login.

    Two cases need no fresh login, because no one new receives anything: the same token
    again from the login that registered it (apps register at every start), and a new token
    for the device this login registered, on the same platform (push services rotate tokens).
    Anything else would send the account's notifications somewhere new: `confirm_fresh_login`
    must pass (it raises otherwise), and a device that is new to the account tells its holder.
    """
    same = db.session.scalar(
        sa.select(Device).where(Device.user_id == user_id, Device.token == token)
    )
    if same is not None and same.session_id == session_id:
        return _update_device(same, platform=platform, label=label)
    own = _device_of_session(user_id, session_id)
    if same is None and own is not None and own.platform == platform:
        own.token = token
        return _update_device(own, platform=platform, label=label)
    confirm_fresh_login()
    if same is not None:
        # Already receiving this account's pushes (from another login): it moves to this one.
        same.session_id = session_id
        return _update_device(same, platform=platform, label=label)
    return _add_device(
        user_id=user_id, session_id=session_id, platform=platform, token=token, label=label
    )


def _update_device(device: Device, *, platform: str, label: str | None) -> Device:
    device.platform = platform
    if label is not None:
        device.label = label
    return device


def _device_of_session(user_id: str, session_id: str) -> Device | None:
    """The device this login registered (its newest, should it have more than one)."""
    return db.session.scalar(
        sa.select(Device)
        .where(Device.user_id == user_id, Device.session_id == session_id)
        .order_by(Device.created_at.desc(), Device.id.desc())
        .limit(1)
    )


def _add_device(
    *, user_id: str, session_id: str, platform: str, token: str, label: str | None
) -> Device:
    """A device new to the account, and the notice that tells the account holder."""
    had_devices = db.session.scalar(sa.select(sa.exists().where(Device.user_id == user_id)))
    values = {
        "user_id": user_id,
        "platform": platform,
        "token": token,
        "session_id": session_id,
        "label": label,
    }
    added = insert_unless_present(db.session, Device, values, unique=("user_id", "token"))
    device = db.session.scalars(
        sa.select(Device).where(Device.user_id == user_id, Device.token == token)
    ).one()
    if not added:
        # The same token registered by a concurrent request of this account: that one stands
        # (and told the account holder).
        return device
    named = (
        f"{PLATFORM_NAMES[platform]} (\u201c{label}\u201d)" if label else PLATFORM_NAMES[platform]
    )
    [notice] = notify(
        user_ids=[user_id],
        kind="device_added",
        title="A new device gets your notifications",
        body=f"{named} was added to your account and will now receive your Trustline "
        "notifications. If that wasn't you, you can remove it from your devices, and change "
        "your password to sign out every other login.",
        subject=("device", device.id),
    )
    if not had_devices:
        # Its only recipient would be the device just added, which needs no telling; the
        # feed shows the notice to whoever opens the account.
        notice.push_status = "skipped"
    accounts.record_activity(
        user_id=user_id,
        kind="device_added",
        session_id=session_id,
        details={"device_id": device.id, "platform": platform},
    )
    return device


def devices(*, user_id: str, limit: int, cursor: str | None) -> Page[Device]:
    """A page of the person's devices, newest first."""
    return keyset_page(
        sa.select(Device).where(Device.user_id == user_id),
        moment_column=Device.created_at,
        id_column=Device.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


@use_case
def remove_device(*, device: Device, session_id: str | None = None) -> None:
    """Stop pushes to a device."""
    accounts.record_activity(
        user_id=device.user_id,
        kind="device_removed",
        session_id=session_id,
        details={"device_id": device.id, "platform": device.platform},
    )
    db.session.delete(device)


@accounts.on_session_ended
def forget_devices_of_session(session_id: str) -> int:
    """A sign-in that ended pushes to no device it registered: they are removed, in the
    ending's transaction. Returns how many went."""
    return db.session.execute(sa.delete(Device).where(Device.session_id == session_id)).rowcount


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
