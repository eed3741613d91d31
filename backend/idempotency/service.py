"""Idempotency: a retried POST with the same key replays the first response.

Records are kept 24 hours per (user, key). A record is written as "pending" before the view
runs, so a second request with the same key arriving meanwhile is refused (409) instead of
running twice; a 5xx answer deletes the record so the client can retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from backend import clock
from backend.errors import Conflict, Invalid
from backend.extensions import db
from backend.idempotency.models import IdempotencyRecord

RETENTION = timedelta(hours=24)
# A request still "in flight" after this long died with its worker; its key may be reused.
ABANDONED_AFTER = timedelta(minutes=2)
# Headers worth replaying with the body.
REPLAYED_HEADERS = ("Location", "ETag")


@dataclass(frozen=True)
class StoredResponse:
    """A response to replay."""

    status_code: int
    content_type: str | None
    headers: dict[str, str]
    body: str


# Answers after which nothing was done and the same request may succeed: not replayed.
RETRY_WITH_THE_SAME_KEY = frozenset({401, 429})


def begin(*, user_id: str, key: str, request_hash: str) -> StoredResponse | str:
    """Replay a finished request's response, or claim the key and return the record id."""
    now = clock.now()
    record = _find(user_id, key)
    abandoned = record is not None and (
        record.status_code is None and record.created_at <= now - ABANDONED_AFTER
    )
    if record is not None and (abandoned or record.created_at <= now - RETENTION):
        db.session.delete(record)
        db.session.commit()
        record = None
    if record is None:
        record = IdempotencyRecord(user_id=user_id, key=key, request_hash=request_hash)
        db.session.add(record)
        try:
            db.session.commit()
            return record.id
        except sa.exc.IntegrityError:
            db.session.rollback()
            record = _find(user_id, key)
            if record is None:  # pragma: no cover - deleted between our two statements
                raise Conflict("Retry this request.") from None
    if record.request_hash != request_hash:
        raise Invalid.field(
            "Idempotency-Key",
            "This Idempotency-Key was already used for a different request. "
            "Use a new key for a new request.",
        )
    if record.status_code is None:
        raise Conflict("A request with this Idempotency-Key is still being processed.")
    return StoredResponse(
        status_code=record.status_code,
        content_type=record.content_type,
        headers=dict(record.response_headers or {}),
        body=record.response_body or "",
    )


def finish(
    *, record_id: str, status_code: int, content_type: str | None, headers: dict, body: str
) -> None:
    """Store the response of a claimed key; forget it if nothing was done and a retry may work.

    A 5xx, a 401 (the request needs a fresh login: the client logs in and sends it again) and
    a 429 (wait, then send it again) did nothing, so a retry with the same key runs anew.
    """
    db.session.rollback()  # whatever the view left behind is not ours to commit
    record = db.session.get(IdempotencyRecord, record_id)
    if record is None:
        return
    if status_code >= 500 or status_code in RETRY_WITH_THE_SAME_KEY:
        db.session.delete(record)
    else:
        record.status_code = status_code
        record.content_type = content_type
        record.response_headers = {k: v for k, v in headers.items() if k in REPLAYED_HEADERS}
        record.response_body = body
    db.session.commit()


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete records older than 24 hours."""
    cutoff = (now or clock.now()) - RETENTION
    count = db.session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= cutoff)
    ).rowcount
    db.session.commit()
    return count


def _find(user_id: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
