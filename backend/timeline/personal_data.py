"""What the timeline holds about a person: its part of the export and of erasure.

The couple's timeline; in erasure, their names in the summaries the system wrote with them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step
from backend.timeline.models import TimelineEvent


@privacy.on_export_of_couple("timeline")
def export_timeline(request: privacy.Export, couple: privacy.SharedCouple) -> list[dict[str, Any]]:
    """The couple's timeline, oldest first."""
    return [
        {
            "kind": e.kind,
            "occurred_at": e.occurred_at,
            "summary": e.summary,
            "subject": e.subject,
        }
        for e in db.session.scalars(
            sa.select(TimelineEvent)
            .where(TimelineEvent.couple_id == couple.id)
            .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
        )
    ]


@privacy.on_erase(Step.SCRUB)
def scrub_summaries(erasure: privacy.Erasure) -> None:
    """Summaries in their couples that spell out one of their names."""
    scrub = erasure.name_scrubber()
    if scrub is None:
        return
    events = sa.select(TimelineEvent).where(
        TimelineEvent.couple_id.in_(erasure.couple_ids), scrub.mentions(TimelineEvent.summary)
    )
    for event in db.session.scalars(events):
        event.summary = scrub.text(event.summary, 200)
