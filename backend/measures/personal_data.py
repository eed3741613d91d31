"""What questionnaires hold about a person: their part of the export and of erasure.

Their own responses and sharing choices, never the other partner's (not even that any
exist); a counselor's questionnaires stay at erasure (partners' responses point at them)
and hold nothing of anyone who answered them.
"""

from __future__ import annotations

from typing import Any

from backend.measures import service as measures
from backend.measures.schemas import MeasureResponseSchema, MeasureSchema
from backend.privacy import service as privacy
from backend.privacy.service import Step
from backend.viewer import viewing


@privacy.on_export("measures")
def export_measures(request: privacy.Export) -> dict[str, Any]:
    """Their questionnaire responses, sharing choices and, for a counselor, questionnaires,
    each as the API shows it to them."""
    user = request.user
    with viewing(user):
        return {
            "responses": MeasureResponseSchema(many=True).dump(measures.responses_of(user=user)),
            "sharing": [
                {
                    "counselor_link_id": choice.link_id,
                    "share": choice.share,
                    "alert_on_risk": choice.alert_on_risk,
                    "shared_since": choice.shared_since,
                }
                for choice in measures.sharing_choices_of(user=user)
            ],
            "authored": MeasureSchema(many=True).dump(
                [measure.current() for measure in measures.own_measures(counselor=user)]
            ),
        }


@privacy.on_erase(Step.REMOVE)
def remove_responses_and_sharing(erasure: privacy.Erasure) -> None:
    """Their responses and sharing choices go."""
    measures.erase_of(user=erasure.user, now=erasure.now)
