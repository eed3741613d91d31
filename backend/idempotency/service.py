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
from backend.database import insert_unless_present
from backend.errors import Conflict, Invalid
from backend.extensions import db
from backend.idempotency.models import IdempotencyRecord
from backend.ids import new_id
from backend.unit_of_work import use_case

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
    # A new key (the usual case) is claimed by one statement; a key already there is read.
    claimed = _claim(user_id=user_id, key=key, request_hash=request_hash)
    if claimed is not None:
        return claimed
    now = clock.now()
    record = _find(user_id, key)
    abandoned = record is not None and (
        record.status_code is None and record.created_at <= now - ABANDONED_AFTER
    )
    if record is not None and (abandoned or record.created_at <= now - RETENTION):
        _forget(record)
        record = None
    if record is None:
        claimed = _claim(user_id=user_id, key=key, request_hash=request_hash)
        if claimed is not None:
            return claimed
        # A concurrent request with the same key claimed it first: answer as its retry.
        record = _find(user_id, key)
        if record is None:  # pragma: no cover - deleted between our two statements
            raise Conflict("Retry this request.")
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


# The key's record lives in transactions of its own, before and after the view's use case:
# a claim must be seen by a concurrent retry at once, and forgetting a stale one is kept.
@use_case
def _forget(record: IdempotencyRecord) -> None:
    """Delete a stale record (abandoned, or past its retention)."""
    db.session.delete(record)


@use_case
def _claim(*, user_id: str, key: str, request_hash: str) -> str | None:
    """Claim the key for this request: the new record's id, or None if the key has one."""
    record_id = new_id()
    claimed = insert_unless_present(
        db.session,
        IdempotencyRecord,
        {"id": record_id, "user_id": user_id, "key": key, "request_hash": request_hash},
        unique=("user_id", "key"),
    )
    return record_id if claimed else None


def finish(
    *, record_id: str, status_code: int, content_type: str | None, headers: dict, body: str
) -> None:
    """Store the response of a claimed key; forget it if nothing was done and a retry may work.

    A 5xx, a 401 (the request needs a fresh login: the client logs in and sends it again) and
    a 429 (wait, then send it again) did nothing, so a retry with the same key runs anew.
    """
    _store(
        record_id=record_id,
        status_code=status_code,
        content_type=content_type,
        headers=headers,
        body=body,
    )


@use_case
def _store(
    *, record_id: str, status_code: int, content_type: str | None, headers: dict, body: str
) -> None:
    """Keep the response of the key's request, or forget the key so a retry runs anew (one
    statement either way, on the record's id)."""
    record = IdempotencyRecord.id == record_id
    if status_code >= 500 or status_code in RETRY_WITH_THE_SAME_KEY:
        db.session.execute(sa.delete(IdempotencyRecord).where(record))
        return
    db.session.execute(
        sa.update(IdempotencyRecord)
        .where(record)
        .values(
            status_code=status_code,
            content_type=content_type,
            response_headers={k: v for k, v in headers.items() if k in REPLAYED_HEADERS},
            response_body=body,
        )
    )


@use_case
def purge_expired(*, now: datetime | None = None) -> int:
    """Delete records older than 24 hours."""
    cutoff = (now or clock.now()) - RETENTION
    count = db.session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= cutoff)
    ).rowcount
    return count


def _find(user_id: str, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
        )
    )
