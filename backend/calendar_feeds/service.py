"""Calendar feeds: private URLs that put a couple's upcoming dates in a partner's own calendar.

A feed URL is its own credential (calendar apps can't log in), so it holds a token of 32
random bytes and only the token's SHA-256 is stored; the URL is shown once, when made. A feed
answers only while its partner is still in the couple it was made in: leaving or erasure ends
the couple, and `end_with_the_couple` deletes its feeds in that same transaction. What a feed
says is discreet by design: generic titles, no names, no prompts, no agreement wording, so it
can sit in a shared or work calendar, or on a calendar provider's servers.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from icalendar import Calendar, Event, vDuration
from limits import parse_many

from backend import clock
from backend.accounts import service as accounts
from backend.agreements import service as agreements
from backend.calendar_feeds.models import CalendarFeed
from backend.counseling import service as counseling
from backend.couples import service as couples
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.notifications import service as notifications
from backend.pagination import Page, keyset_page
from backend.ratelimit import hashed_key, limiter
from backend.scheduling import service as scheduling
from backend.unit_of_work import use_case

# The people and couples a feed belongs to are the accounts' and couples' own objects, named
# through their services.
User = accounts.User
Couple = couples.Couple

TOKEN_BYTES = 32
# At most this many live feeds per person: enough for a phone, a laptop and a work calendar.
MAX_FEEDS = 10
# How far ahead scheduled check-ins are listed (they repeat without end); review and due dates
# are listed whenever they fall, being few.
HORIZON = timedelta(weeks=8)
CHECKIN_LENGTH = timedelta(minutes=15)
# Calendar apps poll; say how often is worth it (RFC 7986 REFRESH-INTERVAL, and the older
# X-PUBLISHED-TTL that some apps read instead).
REFRESH = timedelta(hours=1)
# Feeds are fetched by calendar servers, many people's from one address: generous limits on
# unknown tokens only, which a real calendar app sends only after a feed was revoked.
UNKNOWN_TOKENS_PER_ADDRESS = parse_many("60/minute;600/hour")
GONE = "There is no calendar feed at this address. It may have been revoked."
TOO_MANY_UNKNOWN = "Too many unknown calendar feed addresses. Please wait a little."
CHECKIN_TITLE = "Trustline check-in"
REVIEW_TITLE = "Trustline agreement review"
EXERCISE_TITLE = "Trustline exercise due"
PRODID = "-//Trustline//Calendar feed//EN"


@dataclass(frozen=True)
class NewFeed:
    """A feed just made, with the token of its URL (shown this once)."""

    feed: CalendarFeed
    token: str

    # What the list shows of the feed, shown of it here too.
    @property
    def id(self) -> str:
        return self.feed.id

    @property
    def label(self) -> str | None:
        return self.feed.label

    @property
    def created_at(self) -> datetime:
        return self.feed.created_at

    @property
    def last_fetched_at(self) -> datetime | None:
        return self.feed.last_fetched_at


def hash_token(token: str) -> str:
    """The stored form of a feed token: SHA-256 is enough for 32 random bytes, and unlike a
    keyed hash it keeps feeds working when the operator rotates the secret key."""
    return hashlib.sha256(token.encode()).hexdigest()


@use_case
def create_feed(
    *, user: User, couple: Couple, label: str | None = None, session_id: str | None = None
) -> NewFeed:
    """Make a new private feed URL for a partner of an active couple."""
    couples.require_active(couple)
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(CalendarFeed).where(CalendarFeed.user_id == user.id)
    )
    if count >= MAX_FEEDS:
        raise Conflict(
            f"You have {MAX_FEEDS} calendar feeds, the most there can be. "
            "Revoke one you no longer use first."
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = CalendarFeed(
        user_id=user.id, couple_id=couple.id, token_hash=hash_token(token), label=label
    )
    db.session.add(feed)
    db.session.flush()
    # Like a new device: whoever opens the account learns that its dates now leave it.
    notifications.notify(
        user_ids=[user.id],
        kind="calendar_feed_added",
        title="A calendar feed was added",
        body="A private calendar address now shows your upcoming Trustline dates. If that "
        "wasn't you, revoke it in your calendar feeds, and change your password to sign out "
        "every other login.",
        subject=("calendar_feed", feed.id),
    )
    accounts.record_activity(
        user_id=user.id,
        kind="calendar_feed_created",
        session_id=session_id,
        details={"feed_id": feed.id},
    )
    return NewFeed(feed=feed, token=token)


def feeds(*, user_id: str, limit: int, cursor: str | None) -> Page[CalendarFeed]:
    """A page of the person's feeds, newest first (never their tokens)."""
    return keyset_page(
        sa.select(CalendarFeed).where(CalendarFeed.user_id == user_id),
        moment_column=CalendarFeed.created_at,
        id_column=CalendarFeed.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def export_of(*, user_id: str) -> list[dict]:
    """The person's live feeds for their export: label and dates, never the address."""
    return [
        {
            "id": feed.id,
            "label": feed.label,
            "created_at": feed.created_at,
            "last_fetched_at": feed.last_fetched_at,
        }
        for feed in db.session.scalars(
            sa.select(CalendarFeed)
            .where(CalendarFeed.user_id == user_id)
            .order_by(CalendarFeed.created_at, CalendarFeed.id)
        )
    ]


def feed_of(user_id: str, feed_id: str) -> CalendarFeed:
    """One of the person's feeds; 404 otherwise."""
    feed = db.session.get(CalendarFeed, feed_id)
    if feed is None or feed.user_id != user_id:
        raise NotFound("There is no calendar feed with this id that you can see.")
    return feed


@use_case
def revoke_feed(*, feed: CalendarFeed, session_id: str | None = None) -> None:
    """Stop a feed at once: its URL answers 404 from now on."""
    accounts.record_activity(
        user_id=feed.user_id,
        kind="calendar_feed_revoked",
        session_id=session_id,
        details={"feed_id": feed.id},
    )
    db.session.delete(feed)


@couples.on_couple_ended
def end_with_the_couple(couple: Couple, when: datetime) -> None:
    """A couple that ended (a partner left, or erased their account) shows in no calendar."""
    db.session.execute(sa.delete(CalendarFeed).where(CalendarFeed.couple_id == couple.id))


def feed_for_token(*, token: str, client_address: str) -> CalendarFeed:
    """The live feed behind a URL's token; 404 if unknown, revoked, or its partner has left
    the couple or erased their account (each failure counts toward the address's limit)."""
    rules = [(UNKNOWN_TOKENS_PER_ADDRESS, hashed_key("calendar-feed", client_address))]
    limiter().check(rules, TOO_MANY_UNKNOWN)
    feed = db.session.scalar(
        sa.select(CalendarFeed).where(CalendarFeed.token_hash == hash_token(token))
    )
    # Checked at every fetch, not only when the couple ends: nothing but a live membership
    # of the same couple opens the feed.
    if feed is None or not _still_together(feed):
        limiter().record_failure(rules)
        raise NotFound(GONE)
    return feed


def _still_together(feed: CalendarFeed) -> bool:
    user = accounts.find_user(feed.user_id)
    if user is None or user.erased_at is not None:
        return False
    couple = couples.active_couple_of(feed.user_id)
    return couple is not None and couple.id == feed.couple_id


@use_case
def calendar_of(*, feed: CalendarFeed) -> bytes:
    """The feed as an iCalendar document (RFC 5545), in its partner's time zone; records the
    fetch for the partner's list of feeds."""
    now = clock.now()
    user = accounts.find_user(feed.user_id)
    couple = couples.couple_by_id(feed.couple_id)
    zone = ZoneInfo(user.timezone)
    today = now.astimezone(zone).date()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", "Trustline")
    calendar.add("x-wr-timezone", user.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for instant, key in _checkins(couple, now):
        event = _event(CHECKIN_TITLE, key, now)
        event.add("dtstart", instant.astimezone(zone))
        event.add("duration", CHECKIN_LENGTH)
        calendar.add_component(event)
    dated = [
        *((day, REVIEW_TITLE, key) for day, key in _reviews(couple)),
        *((day, EXERCISE_TITLE, key) for day, key in _exercises_due(couple, user)),
    ]
    for day, title, key in sorted(dated):
        if day < today:
            continue
        event = _event(title, key, now)
        event.add("dtstart", day)  # a date: an all-day event, the same day in every zone
        event.add("dtend", day + timedelta(days=1))
        calendar.add_component(event)
    # A VTIMEZONE covering just the feed's weeks: every TZID the events use is defined.
    calendar.add_missing_timezones(
        first_date=today - timedelta(days=7), last_date=today + HORIZON + timedelta(days=7)
    )
    db.session.execute(
        sa.update(CalendarFeed)
        .where(CalendarFeed.id == feed.id)
        .values(last_fetched_at=now)
        .execution_options(synchronize_session=False)
    )
    return calendar.to_ical()


def _event(title: str, key: str, now: datetime) -> Event:
    """An event with a generic title and a UID stable for the same occurrence across fetches
    (a digest, so no id of Trustline's shows in someone's calendar)."""
    event = Event()
    event.add("uid", hashlib.sha256(key.encode()).hexdigest()[:32] + "@trustline")
    event.add("dtstamp", now)
    event.add("summary", title)
    # Shown as free time: a reminder, not a meeting that blocks the day.
    event.add("transp", "TRANSPARENT")
    return event


def _checkins(couple: Couple, now: datetime) -> Iterator[tuple[datetime, str]]:
    """Each upcoming occurrence of the couple's active schedules within the horizon, from the
    scheduling service (its rules for DST gaps and repeats)."""
    most = HORIZON.days + 1  # daily is the most frequent rule
    for schedule in scheduling.list_schedules(couple=couple):
        for occurrence in scheduling.upcoming_occurrences(schedule=schedule, count=most):
            instant = occurrence["at"]
            if instant > now + HORIZON:
                break
            yield instant, f"checkin\x1f{schedule.id}\x1f{instant.isoformat()}"


def _reviews(couple: Couple) -> Iterator[tuple[date, str]]:
    """The review dates of the couple's agreements in force (the agreement's and its items'),
    one per agreement and day."""
    cursor = None
    while True:
        page = agreements.list_agreements(couple=couple, limit=100, cursor=cursor)
        for agreement in page.items:
            version = agreement.active_version if agreement.status == "active" else None
            if version is None:
                continue
            days = {version.review_on, *(item.review_on for item in version.items)}
            for day in sorted(d for d in days if d is not None):
                yield day, f"review\x1f{agreement.id}\x1f{day.isoformat()}"
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _exercises_due(couple: Couple, user: User) -> Iterator[tuple[date, str]]:
    """Due dates of open exercises whose part for this partner is not done yet."""
    for exercise in counseling.list_exercises(couple=couple):
        part = exercise.part_of(user.id)
        if exercise.status != "open" or exercise.due_on is None or part is None:
            continue
        if part.completed_at is None:
            yield exercise.due_on, f"exercise\x1f{exercise.id}\x1f{exercise.due_on.isoformat()}"
