"""What check-ins hold about a person: their part of the export and of erasure.

The couple's check-ins as the person may see them (never the partner's private answers); in
erasure, their answers go, and the partner's view shows their response as empty.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.checkins import service as checkins
from backend.checkins.models import Answer, Checkin, CheckinResponse, PromptRevision
from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_export_of_couple("checkins")
def export_checkins(request: privacy.Export, couple: privacy.SharedCouple) -> list[dict[str, Any]]:
    """The couple's check-ins as GET /checkins/{id} shows them to the person."""
    views = [
        checkins.checkin_for_viewer(checkin, request.user.id)
        for checkin in db.session.scalars(
            sa.select(Checkin).where(Checkin.couple_id == couple.id).order_by(Checkin.opened_at)
        )
    ]
    for view in views:
        view["prompts"] = [_prompt(prompt) for prompt in view["prompts"]]
    return views


def _prompt(revision: PromptRevision) -> dict[str, Any]:
    """A prompt in the wording it was asked with."""
    return {
        "key": revision.key,
        "kind": revision.kind,
        "text": revision.text,
        "revision": revision.revision,
    }


@privacy.on_erase(Step.REMOVE)
def remove_answers(erasure: privacy.Erasure) -> None:
    """Their answers go; their responses stay, empty, so the check-in's history holds."""
    responses = sa.select(CheckinResponse.id).where(CheckinResponse.user_id == erasure.user.id)
    db.session.execute(sa.delete(Answer).where(Answer.response_id.in_(responses)))
