"""The timeline page is shaped from plain rows (`timeline.schemas.event_json`), not dumped
through marshmallow per field; it must be exactly what `TimelineEventSchema` gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa

from backend.extensions import db
from backend.timeline import service
from backend.timeline.models import TimelineEvent
from backend.timeline.schemas import TimelineEventSchema
from tests.helpers import inside


def test_every_event_of_the_page_is_what_the_schema_dumps(app, alice, couple):
    moment = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)  # just before a DST change
    with inside(app):
        for n, (actor, subject) in enumerate(
            [
                (alice.user["id"], ("couple", couple["id"])),
                (None, None),
                (None, ("checkin", "x" * 64)),
                (alice.user["id"], None),
            ]
        ):
            service.record(
                couple_id=couple["id"],
                kind="couple_updated",
                summary=f"S {n} ✓",
                actor_id=actor,
                subject=subject,
            ).occurred_at = moment.astimezone(timezone(timedelta(hours=2))) - timedelta(hours=n)
        db.session.commit()
        db.session.expunge_all()
        expected = [
            TimelineEventSchema().dump(event)
            for event in db.session.scalars(
                sa.select(TimelineEvent)
                .where(TimelineEvent.couple_id == couple["id"])
                .order_by(TimelineEvent.occurred_at.desc(), TimelineEvent.id.desc())
            )
        ]
    got = alice.get("/couple/timeline?limit=100")
    assert got.status_code == 200, got.get_json()
    assert got.get_json()["items"] == expected
    assert {item["occurred_at"] for item in expected} >= {"2026-03-29T00:59:59Z"}


def test_pages_follow_each_other_without_gaps_or_repeats(app, alice, couple):
    with inside(app):
        for n in range(7):
            service.record(couple_id=couple["id"], kind="couple_updated", summary=f"{n}")
        db.session.commit()
    seen, cursor = [], None
    while True:
        page = alice.get(
            "/couple/timeline", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.get_json()
        seen += [item["id"] for item in page.get_json()["items"]]
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 8  # 7 and the pairing
    kinds = alice.get("/couple/timeline", query_string={"kinds": "paired"}).get_json()["items"]
    assert [item["kind"] for item in kinds] == ["paired"]
