"""What safety holds about a person: their part of the export and of erasure (their check)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step
from backend.safety.models import SafetyCheck


@privacy.on_export("safety_check")
def export_safety_check(request: privacy.Export) -> dict[str, Any] | None:
    """Their safety check answers, if they answered it."""
    safety = db.session.get(SafetyCheck, request.user.id)
    if safety is None:
        return None
    return {"answers": safety.answers, "completed_at": safety.completed_at}


@privacy.on_erase(Step.REMOVE)
def remove_safety_check(erasure: privacy.Erasure) -> None:
    """Their safety check goes."""
    db.session.execute(sa.delete(SafetyCheck).where(SafetyCheck.user_id == erasure.user.id))
