"""Pushing notifications to the operator's relay: signed, retried, handed over once.

The outbox is the notifications table itself (push_status). The tick leases a batch in a
short transaction (`sending`, lease of two minutes; SKIP LOCKED on PostgreSQL, the write
lock on SQLite), sends each outside any transaction, and records every attempt. A process
that dies mid-send lets its lease run out, and the next tick sends again with the same
notification id, so the relay can drop a repeat. Failures back off exponentially and give up
after TRUSTLINE_PUSH_MAX_ATTEMPTS. With no relay configured, notifications stay in-app.

Each delivery follows the Standard Webhooks specification (signed with the `standardwebhooks`
package): `webhook-id` is the notification's id, the same on every retry, so a relay can drop
a repeat; `webhook-timestamp` is the attempt's unix time; `webhook-signature` is
`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">`. A relay verifies with any of the
spec's libraries and the `whsec_` secret. A plain (pre-`whsec_`) secret keeps working: its
bytes are the key (its `whsec_` form is `whsec_` + base64 of them), and while it is set each
delivery also carries the older `X-Trustline-Signature: t=<unix seconds>,v1=<hex>` header,
so relays deployed before can move over at their own pace (docs/deployment.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from standardwebhooks import Webhook

from backend import clock, metrics
from backend.accounts import service as accounts
from backend.database import lock_rows
from backend.extensions import db
from backend.notifications.models import Device, Notification, PushAttempt
from backend.unit_of_work import use_case

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
# Older than this when first seen (e.g. a relay configured later): not worth a buzz now.
STALE_AFTER = timedelta(hours=24)
MAX_BACKOFF = timedelta(hours=6)
DISCREET_TITLE = "Trustline"
DISCREET_BODY = "You have a new update in Trustline"
# Sent only while a plain (pre-`whsec_`) secret is configured: relays deployed before
# Standard Webhooks verify it until they move over.
LEGACY_SIGNATURE_HEADER = "X-Trustline-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the specification's marker, not a secret
# The Standard Webhooks specification's key sizes.
KEY_BYTES = (24, 64)


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


def signing_key(secret: str) -> bytes:
    """The HMAC key in TRUSTLINE_PUSH_WEBHOOK_SECRET: a `whsec_` secret's base64-decoded bytes,
    or a plain secret's own bytes (UTF-8); ValueError naming the variable if malformed."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode()
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(
            "TRUSTLINE_PUSH_WEBHOOK_SECRET: after whsec_ comes the key in base64, "
            "and this is not base64."
        ) from exc
    if not KEY_BYTES[0] <= len(key) <= KEY_BYTES[1]:
        raise ValueError(
            f"TRUSTLINE_PUSH_WEBHOOK_SECRET: a whsec_ key must be {KEY_BYTES[0]} to "
            f"{KEY_BYTES[1]} bytes (Standard Webhooks); this one is {len(key)}."
        )
    return key


def standard_secret(secret: str) -> str:
    """The `whsec_` form of the configured secret: what a relay gives its verifier."""
    return SECRET_PREFIX + base64.b64encode(signing_key(secret)).decode()


def legacy_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The older `X-Trustline-Signature` value: `t=<timestamp>,v1=<hex HMAC-SHA256>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one delivery (and the older header while the secret is
    a plain one)."""
    sent_at = datetime.fromtimestamp(timestamp, UTC)
    signature = Webhook(signing_key(secret)).sign(message_id, sent_at, body.decode())
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    if not secret.startswith(SECRET_PREFIX):
        headers[LEGACY_SIGNATURE_HEADER] = legacy_signature(secret, timestamp, body)
    return headers


@dataclass(frozen=True)
class Push:
    """One leased notification, read and ready to hand over (nothing of it is read again
    after its transaction ended: a device removed meanwhile can't break the send)."""

    notification_id: str
    body: bytes
    device_ids: list[str]
    lease: datetime | None
    attempts: int


@dataclass(frozen=True)
class RelayAnswer:
    """What the relay said to one push: its HTTP status, or the error that kept one away."""

    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        """Whether the relay took it (any 2xx)."""
        return self.status_code is not None and 200 <= self.status_code < 300


def payload(notification: Notification, user: accounts.User, devices: list[Device]) -> dict:
    """What the relay receives: never private content, and generic text when discreet."""
    discreet = user.discreet_notifications
    return {
        "id": notification.id,
        "devices": [{"platform": d.platform, "token": d.token} for d in devices],
        "title": DISCREET_TITLE if discreet else notification.title,
        "body": DISCREET_BODY if discreet else notification.body,
        "data": {"notification_id": notification.id},
    }


@use_case
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
    return leased, skipped


def _send(notification_id: str, now: datetime) -> str:
    """Hand one leased notification to the relay; returns delivered/retried/failed."""
    push = _prepare(notification_id)
    # No transaction is open while we wait on the network.
    answer = _post_to_relay(push, now)
    outcome = _record_attempt(push, answer, now)
    if not answer.succeeded:
        log.warning(
            "push %s: %s (attempt %d)", outcome, answer.error or answer.status_code, push.attempts
        )
    return outcome


# A use case although it only reads: it ends its transaction before the network wait.
@use_case
def _prepare(notification_id: str) -> Push:
    """Read a leased notification, its person's discretion and devices into a `Push`."""
    notification = db.session.get(Notification, notification_id)
    user = accounts.find_user(notification.user_id)
    devices = list(db.session.scalars(sa.select(Device).where(Device.user_id == user.id)))
    body = json.dumps(payload(notification, user, devices), separators=(",", ":")).encode()
    return Push(
        notification_id=notification_id,
        body=body,
        device_ids=[d.id for d in devices],
        lease=notification.push_lease_until,
        attempts=notification.push_attempts + 1,
    )


def _post_to_relay(push: Push, now: datetime) -> RelayAnswer:
    """POST the push to the relay, signed; what it answered (or why nothing came back)."""
    config = current_app.config
    timestamp = int(now.timestamp())
    request = urllib.request.Request(  # noqa: S310 - an operator-configured https relay
        config["TRUSTLINE_PUSH_WEBHOOK_URL"],
        data=push.body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Trustline-Push/1",
            # The notification's id is the webhook-id: the same on every retry of this push.
            **signature_headers(
                config["TRUSTLINE_PUSH_WEBHOOK_SECRET"], push.notification_id, timestamp, push.body
            ),
        },
    )
    try:
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=config["TRUSTLINE_PUSH_TIMEOUT_SECONDS"]
        ) as response:
            return RelayAnswer(status_code=response.status, error=None)
    except urllib.error.HTTPError as exc:
        return RelayAnswer(status_code=exc.code, error=f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError) as exc:
        return RelayAnswer(status_code=None, error=type(exc).__name__)


def _next_state(push: Push, answer: RelayAnswer, now: datetime) -> tuple[str, dict]:
    """The outcome of an attempt, and the notification's columns after it: delivered, given
    up after the most attempts, or pending again after an exponential backoff."""
    config = current_app.config
    if answer.succeeded:
        return "delivered", {"push_status": "delivered", "pushed_at": clock.now()}
    if push.attempts >= config["TRUSTLINE_PUSH_MAX_ATTEMPTS"]:
        return "failed", {"push_status": "failed"}
    backoff = timedelta(seconds=config["TRUSTLINE_PUSH_BACKOFF_SECONDS"] * 2 ** (push.attempts - 1))
    return "retried", {
        "push_status": "pending",
        "push_next_attempt_at": now + min(backoff, MAX_BACKOFF),
    }


@use_case
def _record_attempt(push: Push, answer: RelayAnswer, now: datetime) -> str:
    """Record one attempt and its outcome (if this process still holds the lease)."""
    outcome, values = _next_state(push, answer, now)
    db.session.add(
        PushAttempt(
            notification_id=push.notification_id,
            attempted_at=now,
            status_code=answer.status_code,
            error=answer.error,
            succeeded=answer.succeeded,
        )
    )
    if answer.succeeded:
        # A device's "last used" is the last push handed over for it: what the person sees
        # in GET /me/devices to tell a device that still receives their notifications.
        db.session.execute(
            sa.update(Device)
            .where(Device.id.in_(push.device_ids))
            .values(last_used_at=clock.now())
            .execution_options(synchronize_session=False)
        )
    # Only the holder of this lease records the outcome.
    db.session.execute(
        sa.update(Notification)
        .where(
            Notification.id == push.notification_id,
            Notification.push_status == "sending",
            Notification.push_lease_until == push.lease,
        )
        .values(push_attempts=push.attempts, push_lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return outcome


@use_case
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
    metrics.record_push_deliveries(report)
    return report
