"""Presentation of what the API's counselor views hold: dates, the digest, the charts.

Everything here works on data already serialized by the API's schemas for a counselor (a
CoupleDetailSchema dump, a SharedScoresSchema dump), so it can show nothing those views do
not: it groups and draws, it never fetches.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from backend import clock
from backend.counseling.service import TIMELINE_EVENTS

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


def digest(
    detail: dict[str, Any],
    since: datetime | None,
    questionnaires: list[dict[str, Any]] | None = None,
) -> Digest:
    """The digest of one couple's counselor view (timeline newest first) since `since`, with
    the questionnaires sharing partners completed (`questionnaire_events`), if given."""
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
    if questionnaires is not None:
        # Only partners who share with this counselor are in the measures' counselor view,
        # so this line says nothing of a partner who doesn't, not even that they answered.
        completed = DigestGroup("questionnaires", "Questionnaires completed by a sharing partner")
        completed.events = [
            e for e in questionnaires if cutoff is None or parse_instant(e["occurred_at"]) >= cutoff
        ]
        groups.append(completed)
    return Digest(since=since, groups=groups, overdue=overdue_exercises(detail), more=more)


# How many events the counselor's couple view carries (counseling.service.couple_in_scope).
TIMELINE_PAGE = TIMELINE_EVENTS


@dataclass
class ChartPoint:
    """One point: where it is drawn, its day, its value and (for a score) its band's name."""

    x: float
    y: float
    day: str
    value: int
    band: str | None = None


@dataclass
class ChartSeries:
    """One partner's line: name, points in drawing coordinates, and the values as a table."""

    name: str
    css: str
    path: str
    points: list[ChartPoint]

    @property
    def latest(self) -> ChartPoint | None:
        """The last point drawn (the series is oldest first)."""
        return self.points[-1] if self.points else None


@dataclass
class Chart:
    """A line chart of each partner's values over time, ready for the SVG template.

    The same drawing serves ratings (check-ins) and scores (questionnaires): they differ in
    their data and their words (`noun`, `when`, `description`), and scores carry a band.
    """

    id: str  # unique on its page: the SVG's title and description are named by it
    title: str
    low: int
    high: int
    low_label: str
    high_label: str
    series: list[ChartSeries]
    ticks: list[tuple[float, int]]  # y, value
    x_labels: list[tuple[float, str]]
    noun: str = "rating"
    when: str = "Check-in opened"
    description: str = ""
    width: int = 640
    height: int = 240
    left: int = 44
    right: int = 16
    top: int = 16
    bottom: int = 36

    @property
    def has_points(self) -> bool:
        """Whether any partner has a value to draw."""
        return any(s.points for s in self.series)

    @property
    def banded(self) -> bool:
        """Whether points carry a band (scores), to be shown in words beside the value."""
        return any(p.band for s in self.series for p in s.points)


def line_chart(
    *,
    chart_id: str,
    title: str,
    low: int,
    high: int,
    series: list[tuple[str, list[dict[str, Any]]]],
    timezone: str,
    low_label: str | None = None,
    high_label: str | None = None,
    noun: str = "rating",
    when: str = "Check-in opened",
    description: str = "",
) -> Chart:
    """Each named series of points (`{at, value, band?}`, oldest first) over time."""
    chart = Chart(
        id=chart_id,
        title=title,
        low=low,
        high=high,
        low_label=low_label or str(low),
        high_label=high_label or str(high),
        series=[],
        ticks=[],
        x_labels=[],
        noun=noun,
        when=when,
        description=description,
    )
    moments = sorted(
        {p["at"] for _, points in series for p in points}, key=lambda at: parse_instant(at)
    )
    x_of, y_of = _scales(chart, moments)
    step = max(1, (high - low) // 5)
    chart.ticks = [(round(y_of(v), 1), v) for v in range(low, high + 1, step)]
    ends = moments[:1] + moments[-1:] if len(moments) > 1 else moments
    chart.x_labels = [(round(x_of(at), 1), local_day(_day(at, timezone))) for at in ends]
    for index, (name, points) in enumerate(series):
        drawn = [
            ChartPoint(
                x=round(x_of(p["at"]), 1),
                y=round(y_of(p["value"]), 1),
                day=local_day(_day(p["at"], timezone)),
                value=p["value"],
                band=p.get("band"),
            )
            for p in points
        ]
        path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(drawn))
        chart.series.append(
            ChartSeries(name=name, css=f"series-{index % 2}", path=path, points=drawn)
        )
    return chart


def _scales(
    chart: Chart, moments: list[str]
) -> tuple[Callable[[str], float], Callable[[int], float]]:
    """Where a moment (x) and a value (y) are drawn in the chart's plot area: the moments
    spread from the first to the last (one alone in the middle), values from low to high."""
    plot_w = chart.width - chart.left - chart.right
    plot_h = chart.height - chart.top - chart.bottom
    first = parse_instant(moments[0]) if moments else None
    last = parse_instant(moments[-1]) if moments else None
    span = (last - first).total_seconds() if first and last and last > first else 0.0

    def x_of(at: str) -> float:
        if not span:
            return chart.left + plot_w / 2
        return chart.left + plot_w * (parse_instant(at) - first).total_seconds() / span

    def y_of(value: int) -> float:
        share = (value - chart.low) / (chart.high - chart.low) if chart.high > chart.low else 0.5
        return chart.top + plot_h * (1 - share)

    return x_of, y_of


def ratings_chart(trends: dict[str, Any], timezone: str) -> Chart:
    """Each partner's ratings on one scale prompt over time (a TrendsSchema dump)."""
    prompt = trends["prompt"]
    low, high = int(prompt.get("min") or 0), int(prompt.get("max") or 10)
    low_label = prompt.get("min_label") or str(low)
    high_label = prompt.get("max_label") or str(high)
    return line_chart(
        chart_id="ratings-chart",
        title=prompt["text"],
        low=low,
        high=high,
        low_label=low_label,
        high_label=high_label,
        series=[
            (
                s.get("display_name") or "Former partner",
                [{"at": p["at"], "value": p["value"]} for p in s["points"]],
            )
            for s in trends["series"]
        ],
        timezone=timezone,
        description=f"Each partner's shared ratings from {low} ({low_label}) to {high} "
        f"({high_label}) over time. The same values are in the table below.",
    )


# How each kind of questionnaire is named beside its title: never a Trustline check passed
# off as a validated instrument.
MEASURE_KINDS = {
    "validated": "Validated instrument",
    "trustline_check": "Trustline check, not a validated instrument",
    "counselor": "Your own questionnaire, not a validated instrument",
}


@dataclass
class MeasureChart:
    """One questionnaire's chart of every sharing partner's scores."""

    key: str
    title: str
    kind: str
    kind_label: str
    chart: Chart


@dataclass
class Questionnaires:
    """What the couple page shows of questionnaires: who shares, and a chart per measure."""

    sharing: list[str]  # display names of the partners who share with this counselor
    charts: list[MeasureChart]


def questionnaires(
    shared: dict[str, Any], definitions: dict[str, dict[str, Any]], timezone: str
) -> Questionnaires:
    """Charts of a SharedScoresSchema dump (sharing partners only), one per measure; each
    measure's range comes from its definition (a MeasureSchema dump) when it is listed."""
    partners = [
        (p["user"]["id"], p["user"].get("display_name") or "Former partner")
        for p in shared["partners"]
    ]
    series: dict[str, dict[str, Any]] = {}
    for partner in shared["partners"]:
        for line in partner["measures"]:
            measure = line["measure"]
            entry = series.setdefault(measure["key"], {"measure": measure, "lines": {}})
            entry["lines"][partner["user"]["id"]] = [
                {
                    "at": p["submitted_at"],
                    "value": p["score"],
                    "band": (p.get("band") or {}).get("label"),
                }
                for p in line["points"]
            ]
    charts = []
    for key, entry in series.items():
        measure, lines = entry["measure"], entry["lines"]
        scoring = (definitions.get(key) or {}).get("scoring") or {}
        values = [p["value"] for points in lines.values() for p in points]
        # A score of an earlier version may lie outside today's range: the axis holds both.
        low = min([scoring.get("min_score", 0), *values])
        high = max([scoring.get("max_score", 0), *values, low + 1])
        kind = measure.get("kind") or (definitions.get(key) or {}).get("kind") or "counselor"
        charts.append(
            MeasureChart(
                key=key,
                title=measure["title"],
                kind=kind,
                kind_label=MEASURE_KINDS.get(kind, MEASURE_KINDS["counselor"]),
                chart=line_chart(
                    chart_id=f"measure-{len(charts)}",
                    title=measure["title"],
                    low=low,
                    high=high,
                    # every sharing partner in every chart, so each keeps one colour and shape
                    series=[(name, lines.get(user_id, [])) for user_id, name in partners],
                    timezone=timezone,
                    noun="score",
                    when="Submitted",
                    description=f"Each sharing partner's total scores from {low} to {high} "
                    "over time, each with its band. The same values and bands are in the "
                    "table below.",
                ),
            )
        )
    charts.sort(key=lambda c: c.title.casefold())
    return Questionnaires(sharing=[name for _, name in partners], charts=charts)


def questionnaire_events(shared: dict[str, Any]) -> list[dict[str, Any]]:
    """Each submitted questionnaire of a sharing partner, as a digest event, newest first."""
    events = [
        {
            "occurred_at": point["submitted_at"],
            "summary": f"{partner['user'].get('display_name') or 'Former partner'} completed "
            f"{line['measure']['title']}",
        }
        for partner in shared["partners"]
        for line in partner["measures"]
        for point in line["points"]
    ]
    return sorted(events, key=lambda e: parse_instant(e["occurred_at"]), reverse=True)


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
