"""What questionnaires hold about a person: their part of the export and of erasure.

Their own responses and sharing choices, never the other partner's (not even that any
exist); a counselor's questionnaires stay at erasure (partners' responses point at them)
and hold nothing of anyone who answered them.
"""

from __future__ import annotations

from typing import Any

from backend.measures import service as measures
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_export("measures")
def export_measures(request: privacy.Export) -> dict[str, Any]:
    """Their questionnaire responses, sharing choices and, for a counselor, questionnaires."""
    return measures.export_of(user=request.user)


@privacy.on_erase(Step.REMOVE)
def remove_responses_and_sharing(erasure: privacy.Erasure) -> None:
    """Their responses and sharing choices go."""
    measures.erase_of(user=erasure.user, now=erasure.now)
