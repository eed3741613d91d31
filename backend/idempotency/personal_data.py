"""What stored responses hold about a person: their part of erasure (none of the export: a
stored response is a copy of an answer the export already holds).

Their own stored responses go; those of the people who shared a couple with them may be
replayed to those people, so they keep them, without the person's names.
"""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.idempotency.models import IdempotencyRecord
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_erase(Step.REMOVE)
def remove_own_responses(erasure: privacy.Erasure) -> None:
    """The responses stored for their own retries go."""
    db.session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.user_id == erasure.user.id)
    )


@privacy.on_erase(Step.SCRUB)
def scrub_others_responses(erasure: privacy.Erasure) -> None:
    """The stored responses of the others of their couples, without their names."""
    scrub = erasure.name_scrubber()
    if scrub is None:
        return
    stored = sa.select(IdempotencyRecord).where(
        IdempotencyRecord.user_id.in_(sorted(erasure.people - {erasure.user.id})),
        scrub.json_mentions(IdempotencyRecord.response_body),
    )
    for record in db.session.scalars(stored):
        record.response_body = scrub.json_text(record.response_body)
