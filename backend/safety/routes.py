"""Safety API: resources (no login needed) and the private safety check."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import PARTNER, current_user, role_required
from backend.safety import models, service
from backend.safety.schemas import ResourcesSchema, SafetyCheckAnswersInSchema, SafetyCheckSchema

blp = Blueprint("safety", __name__, url_prefix="/api/v1", description="Safety.")


@blp.route("/safety/resources")
class Resources(MethodView):
    @blp.doc(security=[])
    @blp.response(200, ResourcesSchema)
    @blp.doc(operationId="get_safety_resources")
    def get(self) -> dict[str, Any]:
        """Help lines and guidance, one tap away (no login needed)."""
        return service.resources()


@blp.route("/me/safety-check")
class SafetyCheck(MethodView):
    @role_required(PARTNER)
    @blp.response(200, SafetyCheckSchema)
    def get(self) -> models.SafetyCheck | None:
        """Your private safety check: the questions, and your answers if you gave them."""
        return service.check_of(current_user())

    @role_required(PARTNER)
    @blp.arguments(SafetyCheckAnswersInSchema)
    @blp.response(200, SafetyCheckSchema)
    @blp.doc(operationId="answer_my_safety_check")
    def put(self, data: dict) -> models.SafetyCheck:
        """Answer the safety check. Only you ever see it; nothing your partner sees changes."""
        return service.save_check(user=current_user(), answers=data["answers"])
