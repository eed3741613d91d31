"""Schedules: the couple's rules for when shared check-ins arrive."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend import clock
from backend.checkins import service as checkins
from backend.couples import service as couples
from backend.errors import Conflict, Invalid
from backend.extensions import db
from backend.notifications import service as notifications
from backend.recurrence import (
    WEEKDAYS,
    Rule,
    next_occurrence,
    parse_local_time,
    upcoming,
)
from backend.scheduling.models import Schedule
from backend.timeline import service as timeline
from backend.unit_of_work import use_case

if TYPE_CHECKING:  # annotations only: couples and people are read through their services
    from backend.accounts.service import User
    from backend.couples.service import Couple

RULE_FIELDS = ("frequency", "weekdays", "local_time", "timezone")
SETTINGS = (*RULE_FIELDS, "prompt_set", "window_hours", "reminder_hours_before_close", "paused")


def effective_timezone(schedule: Schedule, couple: Couple) -> str:
    """The schedule's own time zone, or the couple's when it follows the couple."""
    return schedule.timezone or couple.timezone


def rule_of(schedule: Schedule, couple: Couple) -> Rule:
    """The schedule's rule, ready to compute occurrences."""
    return rule_in(schedule, couple.timezone)


def rule_in(schedule: Schedule, couple_timezone: str) -> Rule:
    """The schedule's rule, given the couple's time zone."""
    return Rule(
        frequency=schedule.frequency,
        local_time=parse_local_time(schedule.local_time),
        timezone=schedule.timezone or couple_timezone,
        weekdays=tuple(schedule.weekdays),
    )


def _check(values: dict[str, Any]) -> None:
    """Rules that involve more than one field; 422 naming the field."""
    if values["frequency"] == "weekly" and not values["weekdays"]:
        raise Invalid.field("weekdays", "Pick at least one day for a weekly schedule.")
    if values["frequency"] == "daily" and values["weekdays"]:
        raise Invalid.field("weekdays", "A daily schedule fires every day; leave weekdays out.")
    reminder = values.get("reminder_hours_before_close")
    if reminder is not None and reminder >= values["window_hours"]:
        raise Invalid.field(
            "reminder_hours_before_close",
            "Must be less than window_hours.",
        )
    checkins.find_prompt_set(values["prompt_set"])


def _values(schedule: Schedule) -> dict[str, Any]:
    return {
        "frequency": schedule.frequency,
        "weekdays": list(schedule.weekdays),
        "local_time": schedule.local_time,
        "timezone": schedule.timezone,
        "prompt_set": schedule.prompt_set_key,
        "window_hours": schedule.window_hours,
        "reminder_hours_before_close": schedule.reminder_hours_before_close,
        "paused": schedule.paused,
    }


def _apply(schedule: Schedule, values: dict[str, Any]) -> None:
    schedule.frequency = values["frequency"]
    schedule.weekdays = sorted(set(values["weekdays"]), key=_weekday_order)
    schedule.local_time = values["local_time"]
    schedule.timezone = values["timezone"]
    schedule.prompt_set_key = values["prompt_set"]
    schedule.window_hours = values["window_hours"]
    schedule.reminder_hours_before_close = values["reminder_hours_before_close"]
    schedule.paused = values["paused"]


def _weekday_order(day: str) -> int:
    return WEEKDAYS.index(day)


def _tell_partner(couple: Couple, user: User, schedule: Schedule, kind: str, what: str) -> None:
    timeline.record(
        couple_id=couple.id,
        kind=kind,
        actor_id=user.id,
        subject=("schedule", schedule.id),
        summary=f"{user.display_name} {what}.",
    )
    partner = couple.partner_of(user.id)
    if partner:
        notifications.notify(
            user_ids=[partner],
            couple_id=couple.id,
            kind=kind,
            title="Check-in schedule changed",
            body=f"{user.display_name} {what}.",
            subject=("schedule", schedule.id),
        )


def describe(schedule: Schedule) -> str:
    """A short, private-content-free description: 'weekly check-in (Sun at 19:00)'."""
    days = (
        "every day"
        if schedule.frequency == "daily"
        else ", ".join(d.capitalize() for d in schedule.weekdays)
    )
    return f"the check-in schedule ({days} at {schedule.local_time})"


def tell_stopped(schedule: Schedule, member_ids: tuple[str, ...]) -> None:
    """A schedule whose prompt set is no longer offered stops; both partners are told."""
    timeline.announce(
        couple_id=schedule.couple_id,
        kind="schedule_stopped",
        subject=("schedule", schedule.id),
        summary=f"{describe(schedule).capitalize()} stopped: its prompts are no longer offered.",
        tell=member_ids,
        title="A check-in schedule stopped",
        body="Its prompt set is no longer offered. Choose another set for a new schedule.",
    )


@use_case
def create_schedule(*, couple: Couple, user: User, data: dict[str, Any]) -> Schedule:
    """Add a schedule; the partner is told."""
    couples.require_active(couple)
    values = {
        "weekdays": [],
        "timezone": None,
        "window_hours": 24,
        "reminder_hours_before_close": None,
        "paused": False,
        **data,
    }
    _check(values)
    schedule = Schedule(couple_id=couple.id, created_by_id=user.id, status="active")
    _apply(schedule, values)
    schedule.next_due_at = next_occurrence(rule_of(schedule, couple), clock.now())
    db.session.add(schedule)
    db.session.flush()
    _tell_partner(couple, user, schedule, "schedule_created", f"added {describe(schedule)}")
    return schedule


@use_case
def update_schedule(*, schedule: Schedule, user: User, changes: dict[str, Any]) -> Schedule:
    """Change or pause a schedule; the partner is told."""
    couple = couples.couple_by_id(schedule.couple_id)
    couples.require_active(couple)
    if schedule.status != "active":
        raise Conflict("This schedule has stopped; create a new one instead.")
    before = _values(schedule)
    values = {**before, **changes}
    values["weekdays"] = sorted(set(values["weekdays"]), key=_weekday_order)
    _check(values)
    if values == before:
        return schedule
    _apply(schedule, values)
    now = clock.now()
    rule_changed = any(before[f] != values[f] for f in RULE_FIELDS)
    resumed = before["paused"] and not values["paused"]
    if rule_changed or resumed:
        # From now on: a resumed schedule does not catch up what fell in its pause.
        schedule.next_due_at = next_occurrence(rule_of(schedule, couple), now)
    if values["paused"] and not before["paused"]:
        kind, what = "schedule_paused", f"paused {describe(schedule)}"
    elif resumed:
        kind, what = "schedule_resumed", f"resumed {describe(schedule)}"
    else:
        kind, what = "schedule_changed", f"changed {describe(schedule)}"
    _tell_partner(couple, user, schedule, kind, what)
    return schedule


@use_case
def delete_schedule(*, schedule: Schedule, user: User) -> None:
    """Remove a schedule; check-ins it opened stay. The partner is told."""
    couple = couples.couple_by_id(schedule.couple_id)
    couples.require_active(couple)
    _tell_partner(couple, user, schedule, "schedule_deleted", f"removed {describe(schedule)}")
    db.session.delete(schedule)


def list_schedules(*, couple: Couple) -> list[Schedule]:
    """The couple's schedules, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Schedule)
            .where(Schedule.couple_id == couple.id)
            .order_by(Schedule.created_at, Schedule.id)
        )
    )


def upcoming_occurrences(*, schedule: Schedule, count: int) -> list[dict[str, Any]]:
    """The next occurrences, in UTC and in the schedule's local time (none while paused)."""
    if schedule.paused or schedule.status != "active":
        return []
    couple = couples.couple_by_id(schedule.couple_id)
    rule = rule_of(schedule, couple)
    zone = ZoneInfo(rule.timezone)
    instants = [schedule.next_due_at, *upcoming(rule, schedule.next_due_at, count - 1)]
    return [
        {
            "at": instant,
            "local": instant.astimezone(zone).isoformat(),
            "local_date": instant.astimezone(zone).date().isoformat(),
            "local_time": instant.astimezone(zone).strftime("%H:%M"),
            "timezone": rule.timezone,
        }
        for instant in instants[:count]
    ]


@couples.on_couple_ended
def stop_schedules(couple: Couple, when: datetime) -> None:
    """A couple that ended gets no more check-ins."""
    db.session.execute(
        sa.update(Schedule).where(Schedule.couple_id == couple.id).values(status="stopped")
    )


@couples.on_couple_updated
def follow_couple_timezone(couple: Couple, changed: list[str]) -> None:
    """Schedules that follow the couple's time zone move with it."""
    if "timezone" not in changed:
        return
    now = clock.now()
    following = db.session.scalars(
        sa.select(Schedule).where(
            Schedule.couple_id == couple.id,
            Schedule.timezone.is_(None),
            Schedule.status == "active",
        )
    )
    for schedule in following:
        schedule.next_due_at = next_occurrence(rule_of(schedule, couple), now)
