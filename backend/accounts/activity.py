"""Account activity: what changed in an account, when, and from which login — for its holder.

Services of every domain record here, in the transaction of the change they describe
(`from backend.accounts import activity`; `activity.record(...)`, no commit). Only what helps a
person see whether someone else used their account is recorded: sign-ins, sessions ended,
password, devices, discreet notifications, profile, export, counselor links, calendar feeds,
sharing questionnaire scores.
What someone holding the phone must not learn is never recorded (the safety check, safety
resources, the journal, leaving quietly, drafts, reading notifications): see
docs/privacy-and-safety.md. No addresses, no places, no personal content in `details`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backend import clock
from backend.accounts.models import AccountActivity, AuthSession
from backend.extensions import db
from backend.pagination import Page, keyset_page
from backend.unit_of_work import use_case

RETENTION = timedelta(days=90)
PLATFORMS = {"ios": "iPhone or iPad", "android": "Android", "web": "web browser"}
FIELD_NAMES = {"display_name": "display name", "timezone": "time zone"}
# Why a login ended, in the words of its summary.
ENDED = {
    "signed_out": "Signed out on {ended}.",
    "ended_here": "Ended this sign-in ({ended}).",
    "ended": "Ended the sign-in on {ended} from another of your sessions.",
    "password_change": "The sign-in on {ended} was ended by a password change.",
    "refresh_reuse": "The sign-in on {ended} was ended because one of its refresh tokens was "
    "used twice: a copy of it may exist elsewhere.",
}


def _words(items: list[str]) -> str:
    return f"{', '.join(items[:-1])} and {items[-1]}" if len(items) > 1 else items[0]


def _ended(details: dict[str, Any]) -> str:
    ended = details.get("ended_session") or "a device"
    text = ENDED.get(details.get("reason", ""), "The sign-in on {ended} was ended.")
    removed = details.get("devices_removed") or 0
    extra = (
        f" {removed} push device{'s' if removed != 1 else ''} removed with it." if removed else ""
    )
    return text.format(ended=ended) + extra


def _failed(row: AccountActivity) -> str:
    if row.count == 1:
        return "A sign-in with a wrong password failed."
    return f"{row.count} sign-ins with a wrong password failed within this hour."


SUMMARIES: dict[str, Any] = {
    "account_created": lambda r, d: "You created your account.",
    "signed_in": lambda r, d: f"New sign-in on {r.session_description or 'a device'}.",
    "sign_in_failed": lambda r, d: _failed(r),
    "session_ended": lambda r, d: _ended(d),
    "password_changed": lambda r, d: "Changed the password; every other sign-in was ended.",
    "device_added": lambda r, d: (
        f"Added a push device ({PLATFORMS.get(d.get('platform'), '?')})"
        " that receives your notifications."
    ),
    "device_removed": lambda r, d: (
        f"Removed a push device ({PLATFORMS.get(d.get('platform'), '?')})."
    ),
    "discreet_notifications_on": lambda r, d: "Turned discreet notifications on.",
    "discreet_notifications_off": lambda r, d: (
        "Turned discreet notifications off: pushed notifications now show what happened."
    ),
    "profile_changed": lambda r, d: (
        f"Changed the {_words([FIELD_NAMES.get(f, f) for f in d.get('fields') or ['profile']])}."
    ),
    "export_downloaded": lambda r, d: "Downloaded a copy of all your data.",
    "counselor_link_proposed": lambda r, d: "Proposed linking a counselor.",
    "counselor_link_consented": lambda r, d: "Agreed to link a counselor.",
    "counselor_link_ended": lambda r, d: "Ended a counselor link.",
    "calendar_feed_created": lambda r, d: "Created a calendar feed address.",
    "calendar_feed_revoked": lambda r, d: "Revoked a calendar feed address.",
    "measure_sharing_on": lambda r, d: "Turned on sharing questionnaire scores with a counselor.",
    "measure_sharing_off": lambda r, d: "Stopped sharing questionnaire scores with a counselor.",
}
KINDS = tuple(SUMMARIES)


def record(
    *, user_id: str, kind: str, session_id: str | None = None, details: dict | None = None
) -> AccountActivity:
    """Add an event to the account's activity (no commit: the caller's use case commits)."""
    if kind not in SUMMARIES:
        raise ValueError(f"unknown activity kind {kind}")
    event = AccountActivity(
        user_id=user_id,
        kind=kind,
        session_id=session_id or None,
        session_description=_description_of(session_id),
        details=details or None,
    )
    db.session.add(event)
    return event


def record_failed_sign_in(*, user_id: str, now: datetime | None = None) -> None:
    """Count a wrong password for the account: one row per hour, counted in place.

    Never a row per attempt: a flood of guesses must not push everything else off the list.
    Its own use case, called before the 401 that reports the wrong password (so it is kept):
    when a concurrent failure made the hour's row first, the insert fails at its commit and
    the count goes on that row instead, in a second use case.
    """
    now = now or clock.now()
    key = f"sign_in_failed:{now:%Y-%m-%dT%H}"
    try:
        _count_failure(user_id=user_id, key=key, now=now, may_insert=True)
    except sa.exc.IntegrityError:
        _count_failure(user_id=user_id, key=key, now=now, may_insert=False)


@use_case
def _count_failure(*, user_id: str, key: str, now: datetime, may_insert: bool) -> None:
    bump = (
        sa.update(AccountActivity)
        .where(AccountActivity.user_id == user_id, AccountActivity.group_key == key)
        .values(count=AccountActivity.count + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if db.session.execute(bump).rowcount == 0 and may_insert:
        db.session.add(
            AccountActivity(
                user_id=user_id,
                kind="sign_in_failed",
                group_key=key,
                created_at=now,
                updated_at=now,
            )
        )


def _description_of(session_id: str | None) -> str | None:
    if not session_id:
        return None
    return db.session.scalar(
        sa.select(AuthSession.client_description).where(AuthSession.id == session_id)
    )


def page(*, user_id: str, limit: int, cursor: str | None) -> Page[AccountActivity]:
    """A page of the account's activity, newest first."""
    return keyset_page(
        sa.select(AccountActivity).where(AccountActivity.user_id == user_id),
        moment_column=AccountActivity.created_at,
        id_column=AccountActivity.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def everything_of(*, user_id: str) -> list[AccountActivity]:
    """The whole activity of an account, oldest first (for the export)."""
    return list(
        db.session.scalars(
            sa.select(AccountActivity)
            .where(AccountActivity.user_id == user_id)
            .order_by(AccountActivity.created_at, AccountActivity.id)
        )
    )


@use_case
def purge_old(*, now: datetime | None = None) -> int:
    """Delete activity older than 90 days."""
    cutoff = (now or clock.now()) - RETENTION
    count = db.session.execute(
        sa.delete(AccountActivity).where(AccountActivity.created_at < cutoff)
    ).rowcount
    return count


def erase_all(*, user_id: str) -> None:
    """Delete the account's activity (erasure; no commit)."""
    db.session.execute(sa.delete(AccountActivity).where(AccountActivity.user_id == user_id))
