"""Presentation of what the API's counselor views hold: dates, the digest, the ratings chart.

Everything here works on data already serialized by the API's schemas for a counselor (a
CoupleDetailSchema dump), so it can show nothing those views do not: it groups and draws,
it never fetches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend import clock

# What the "since your last visit" digest counts, by timeline kind, in the order shown.
DIGEST_GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("checkins_revealed", "Check-ins revealed", ("checkin_revealed",)),
    ("checkins_missed", "Check-ins missed", ("checkin_missed",)),
    ("exercises_completed", "Exercises completed", ("exercise_completed",)),
    (
        "agreements",
        "Agreements: consents, amendments, withdrawals",
        ("agreement_proposed", "agreement_activated", "agreement_amended", "agreement_withdrawn"),
    ),
    (
        "conversations",
        "Conversations: milestones and time-outs",
        (
            "conversation_started",
            "conversation_step_completed",
            "conversation_completed",
            "conversation_paused",
            "conversation_resumed",
            "conversation_abandoned",
        ),
    ),
)


def parse_instant(value: str | None) -> datetime | None:
    """An API timestamp (`...Z`) as an aware datetime."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def local_time(value: str | datetime | None, timezone: str) -> str:
    """`Tue 3 Dec 2026, 19:05` in the reader's time zone; '' for nothing."""
    moment = parse_instant(value) if isinstance(value, str) else value
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def local_day(value: str | date | None) -> str:
    """`Tue 3 Dec 2026` for an API date (`2026-12-03`)."""
    if not value:
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day:%a} {day.day} {day:%b %Y}"


@dataclass
class DigestGroup:
    """One line of the digest: what, how many, and each event's date and summary."""

    key: str
    label: str
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Digest:
    """What happened in a couple since the counselor's last visit."""

    since: datetime | None
    groups: list[DigestGroup]
    overdue: list[dict[str, Any]]
    more: bool  # the view's timeline ended before the last visit: there may be more

    @property
    def empty(self) -> bool:
        """Nothing to tell."""
        return not self.overdue and not any(g.events for g in self.groups)


def today_in(timezone: str) -> date:
    """The date now in a couple's time zone."""
    return clock.now().astimezone(ZoneInfo(timezone)).date()


def overdue_exercises(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """Open exercises whose due date has passed in the couple's time zone."""
    today = today_in(detail["timezone"])
    return [
        e
        for e in detail["exercises"]
        if e["status"] == "open" and e["due_on"] and date.fromisoformat(e["due_on"]) < today
    ]


def digest(detail: dict[str, Any], since: datetime | None) -> Digest:
    """The digest of one couple's counselor view (timeline newest first) since `since`."""
    groups = [DigestGroup(key, label) for key, label, _ in DIGEST_GROUPS]
    by_kind = {
        kind: group
        for group, (_, _, kinds) in zip(groups, DIGEST_GROUPS, strict=True)
        for kind in kinds
    }
    # The view's times are whole seconds: an event in the second of the last visit is told
    # (perhaps again) rather than missed.
    cutoff = since.replace(microsecond=0) if since is not None else None
    reached_since = False
    for event in detail["timeline"]:
        occurred = parse_instant(event["occurred_at"])
        if cutoff is not None and occurred is not None and occurred < cutoff:
            reached_since = True
            break
        group = by_kind.get(event["kind"])
        if group is not None:
            group.events.append(event)
    more = not reached_since and since is not None and len(detail["timeline"]) >= TIMELINE_PAGE
    return Digest(since=since, groups=groups, overdue=overdue_exercises(detail), more=more)


# How many events the counselor's couple view carries (counseling.service.couple_detail).
TIMELINE_PAGE = 50


@dataclass
class ChartSeries:
    """One partner's line: name, points in drawing coordinates, and the values as a table."""

    name: str
    css: str
    path: str
    points: list[tuple[float, float, str, int]]  # x, y, date label, value


@dataclass
class Chart:
    """A ratings chart ready for the SVG template."""

    title: str
    low: int
    high: int
    low_label: str
    high_label: str
    series: list[ChartSeries]
    ticks: list[tuple[float, int]]  # y, value
    x_labels: list[tuple[float, str]]
    width: int = 640
    height: int = 240
    left: int = 44
    right: int = 16
    top: int = 16
    bottom: int = 36

    @property
    def has_points(self) -> bool:
        """Whether any partner has a rating to draw."""
        return any(s.points for s in self.series)


def ratings_chart(trends: dict[str, Any], timezone: str) -> Chart:
    """Each partner's ratings on one scale prompt over time (a TrendsSchema dump)."""
    prompt = trends["prompt"]
    low, high = int(prompt.get("min") or 0), int(prompt.get("max") or 10)
    chart = Chart(
        title=prompt["text"],
        low=low,
        high=high,
        low_label=prompt.get("min_label") or str(low),
        high_label=prompt.get("max_label") or str(high),
        series=[],
        ticks=[],
        x_labels=[],
    )
    plot_w = chart.width - chart.left - chart.right
    plot_h = chart.height - chart.top - chart.bottom
    moments = sorted(
        {p["at"] for s in trends["series"] for p in s["points"]}, key=lambda at: parse_instant(at)
    )
    first = parse_instant(moments[0]) if moments else None
    last = parse_instant(moments[-1]) if moments else None
    span = (last - first).total_seconds() if first and last and last > first else 0.0

    def x_of(at: str) -> float:
        if not span:
            return chart.left + plot_w / 2
        return chart.left + plot_w * (parse_instant(at) - first).total_seconds() / span

    def y_of(value: int) -> float:
        share = (value - low) / (high - low) if high > low else 0.5
        return chart.top + plot_h * (1 - share)

    step = max(1, (high - low) // 5)
    chart.ticks = [(round(y_of(v), 1), v) for v in range(low, high + 1, step)]
    ends = moments[:1] + moments[-1:] if len(moments) > 1 else moments
    chart.x_labels = [(round(x_of(at), 1), local_day(_day(at, timezone))) for at in ends]
    for index, series in enumerate(trends["series"]):
        points = [
            (
                round(x_of(p["at"]), 1),
                round(y_of(p["value"]), 1),
                local_day(_day(p["at"], timezone)),
                p["value"],
            )
            for p in series["points"]
        ]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y, _, _) in enumerate(points))
        chart.series.append(
            ChartSeries(
                name=series.get("display_name") or "Former partner",
                css=f"series-{index % 2}",
                path=path,
                points=points,
            )
        )
    return chart


def _day(at: str, timezone: str) -> date:
    return parse_instant(at).astimezone(ZoneInfo(timezone)).date()


def scale_prompts_answered(detail: dict[str, Any], scale_keys: set[str]) -> list[str]:
    """The scale prompts with shared ratings in the view, most recently answered first."""
    seen: list[str] = []
    for checkin in detail.get("shared_checkins") or []:
        for response in checkin["responses"]:
            for answer in response["answers"]:
                if answer["prompt"] in scale_keys and answer["prompt"] not in seen:
                    seen.append(answer["prompt"])
    return seen


def answer_text(value: Any, prompt: dict[str, Any] | None) -> str:
    """An answer as words: a choice's label rather than its key, a list joined."""
    labels = {o["value"]: o["label"] for o in (prompt or {}).get("options") or []}
    values = value if isinstance(value, list) else [value]
    return ", ".join(str(labels.get(v, v)) if isinstance(v, str) else str(v) for v in values)
