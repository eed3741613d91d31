"""Pushing notifications to the operator's relay: signed, retried, handed over once.

The outbox is the notifications table itself (push_status). The tick leases a batch in a
short transaction (`sending`, lease of two minutes; SKIP LOCKED on PostgreSQL, the write
lock on SQLite), sends each outside any transaction, and records every attempt. A process
that dies mid-send lets its lease run out, and the next tick sends again with the same
notification id, so the relay can drop a repeat. Failures back off exponentially and give up
after TRUSTLINE_PUSH_MAX_ATTEMPTS. With no relay configured, notifications stay in-app.

The signature header is `X-Trustline-Signature: t=<unix seconds>,v1=<hex>`, where hex is
HMAC-SHA256(secret, "<t>.<raw body>"); a relay should refuse a stale t.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backend import clock
from backend.accounts.models import User
from backend.database import lock_rows
from backend.extensions import db
from backend.notifications.models import Device, Notification, PushAttempt

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
# Older than this when first seen (e.g. a relay configured later): not worth a buzz now.
STALE_AFTER = timedelta(hours=24)
MAX_BACKOFF = timedelta(hours=6)
DISCREET_TITLE = "Trustline"
DISCREET_BODY = "You have a new update in Trustline"
SIGNATURE_HEADER = "X-Trustline-Signature"


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def payload(notification: Notification, user: User, devices: list[Device]) -> dict:
    """What the relay receives: never private content, and generic text when discreet."""
    discreet = user.discreet_notifications
    return {
        "id": notification.id,
        "devices": [{"platform": d.platform, "token": d.token} for d in devices],
        "title": DISCREET_TITLE if discreet else notification.title,
        "body": DISCREET_BODY if discreet else notification.body,
        "data": {"notification_id": notification.id},
    }


def _lease(now: datetime, limit: int) -> tuple[list[str], int]:
    """Take a batch of due notifications for this process; mark the hopeless ones."""
    url = current_app.config["TRUSTLINE_PUSH_WEBHOOK_URL"]
    due = sa.or_(
        Notification.push_status == "pending",
        sa.and_(Notification.push_status == "sending", Notification.push_lease_until <= now),
    )
    statement = (
        sa.select(Notification)
        .where(due, Notification.push_next_attempt_at <= now)
        .order_by(Notification.push_next_attempt_at)
        .limit(limit)
    )
    leased, skipped = [], 0
    rows = lock_rows(statement, Notification.__table__, db.session, skip_locked=True).all()
    with_devices = set(
        db.session.scalars(
            sa.select(Device.user_id).where(Device.user_id.in_({n.user_id for n in rows}))
        )
    )
    for notification in rows:
        stale = notification.push_attempts == 0 and notification.created_at <= now - STALE_AFTER
        if url is None or notification.user_id not in with_devices or stale:
            notification.push_status = "skipped"
            skipped += 1
        else:
            notification.push_status = "sending"
            notification.push_lease_until = now + LEASE
            leased.append(notification.id)
    db.session.commit()
    return leased, skipped


def _send(notification_id: str, now: datetime) -> str:
    """Hand one leased notification to the relay; returns delivered/retried/failed."""
    config = current_app.config
    notification = db.session.get(Notification, notification_id)
    user = db.session.get(User, notification.user_id)
    devices = list(db.session.scalars(sa.select(Device).where(Device.user_id == user.id)))
    lease = notification.push_lease_until
    db.session.commit()  # no transaction stays open while we wait on the network
    body = json.dumps(payload(notification, user, devices), separators=(",", ":")).encode()
    timestamp = int(now.timestamp())
    request = urllib.request.Request(  # noqa: S310 - an operator-configured https relay
        config["TRUSTLINE_PUSH_WEBHOOK_URL"],
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(config["TRUSTLINE_PUSH_WEBHOOK_SECRET"], timestamp, body),
            "User-Agent": "Trustline-Push/1",
        },
    )
    status_code, error = None, None
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=config["TRUSTLINE_PUSH_TIMEOUT_SECONDS"]
        ) as response:
            status_code = response.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = type(exc).__name__
    succeeded = status_code is not None and 200 <= status_code < 300
    attempts = notification.push_attempts + 1
    if succeeded:
        outcome, values = "delivered", {"push_status": "delivered", "pushed_at": clock.now()}
    elif attempts >= config["TRUSTLINE_PUSH_MAX_ATTEMPTS"]:
        outcome, values = "failed", {"push_status": "failed"}
    else:
        backoff = timedelta(seconds=config["TRUSTLINE_PUSH_BACKOFF_SECONDS"] * 2 ** (attempts - 1))
        outcome = "retried"
        values = {"push_status": "pending", "push_next_attempt_at": now + min(backoff, MAX_BACKOFF)}
    db.session.add(
        PushAttempt(
            notification_id=notification_id,
            attempted_at=now,
            status_code=status_code,
            error=error,
            succeeded=succeeded,
        )
    )
    # Only the holder of this lease records the outcome.
    db.session.execute(
        sa.update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.push_status == "sending",
            Notification.push_lease_until == lease,
        )
        .values(push_attempts=attempts, push_lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not succeeded:
        log.warning("push %s: %s (attempt %d)", outcome, error or status_code, attempts)
    return outcome


def _skip_undeliverable(now: datetime) -> int:
    """In one statement, mark pending notifications that can't be pushed: no relay is
    configured, the person has no device, or it is too old to be worth a buzz now."""
    pending = Notification.push_status == "pending"
    if current_app.config["TRUSTLINE_PUSH_WEBHOOK_URL"] is not None:
        pending = sa.and_(
            pending,
            sa.or_(
                Notification.user_id.not_in(sa.select(Device.user_id)),
                sa.and_(
                    Notification.push_attempts == 0,
                    Notification.created_at <= now - STALE_AFTER,
                ),
            ),
        )
    skipped = db.session.execute(
        sa.update(Notification)
        .where(pending)
        .values(push_status="skipped")
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return skipped


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> DeliveryReport:
    """Lease and send what is due; returns counts."""
    now = now or clock.now()
    bulk_skipped = _skip_undeliverable(now)
    leased, skipped = _lease(now, limit)
    skipped += bulk_skipped
    report = DeliveryReport(skipped=skipped)
    for notification_id in leased:
        outcome = _send(notification_id, now)
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report
