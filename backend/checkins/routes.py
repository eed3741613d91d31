"""Check-ins API: the prompt library, check-ins, answers and trends."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from backend.access import current_user, with_couple, with_couple_object
from backend.checkins import service
from backend.checkins.models import Checkin
from backend.checkins.schemas import (
    AnswersPutSchema,
    CheckinCreateSchema,
    CheckinPageSchema,
    CheckinQueryArgsSchema,
    CheckinSchema,
    PromptQueryArgsSchema,
    PromptSchema,
    PromptSetSchema,
    TrendQueryArgsSchema,
    TrendsSchema,
)
from backend.pagination import Page
from backend.viewer import note_safety_check, note_written

blp = Blueprint("checkins", __name__, url_prefix="/api/v1", description="Check-ins.")


@blp.route("/prompts")
class Prompts(MethodView):
    @jwt_required()
    @blp.arguments(PromptQueryArgsSchema, location="query")
    @blp.response(200, PromptSchema(many=True))
    def get(self, args: dict) -> Any:
        """The prompt library (current wording), optionally of one category."""
        return service.list_prompts(**args)


@blp.route("/prompt-sets")
class PromptSets(MethodView):
    @jwt_required()
    @blp.response(200, PromptSetSchema(many=True))
    def get(self) -> Any:
        """The prompt sets a check-in can be opened with."""
        return service.list_prompt_sets()


@blp.route("/couple/checkins")
class CoupleCheckins(MethodView):
    @with_couple()
    @blp.arguments(CheckinQueryArgsSchema, location="query")
    @blp.response(200, CheckinPageSchema)
    def get(self, args: dict, couple: Any) -> Page[Checkin]:
        """The couple's check-ins, newest first."""
        return service.list_checkins(couple=couple, **args)

    @with_couple(write=True)
    @blp.arguments(CheckinCreateSchema)
    @blp.response(201, CheckinSchema)
    @blp.alt_response(409, description="The couple has ended.")
    @blp.doc(operationId="open_checkin")
    def post(self, data: dict, couple: Any) -> Checkin:
        """Open a check-in now; your partner is told."""
        return service.open_checkin(
            couple=couple, prompt_set_key=data["prompt_set"], opened_by=current_user()
        )


@blp.route("/checkins/<checkin_id>")
class CheckinById(MethodView):
    @with_couple_object("checkin_id", Checkin)
    @blp.response(200, CheckinSchema)
    def get(self, checkin: Checkin) -> Checkin:
        """One check-in: your answers, and your partner's shared ones once both submitted."""
        return checkin


@blp.route("/checkins/<checkin_id>/answers")
class CheckinAnswers(MethodView):
    @with_couple_object("checkin_id", Checkin, write=True, safety_check=True)
    @blp.arguments(AnswersPutSchema)
    @blp.response(200, CheckinSchema)
    @blp.alt_response(409, description="Closed, already submitted, or the couple has ended.")
    @blp.doc(operationId="save_checkin_answers")
    def put(self, data: dict, checkin: Checkin, safety_check: Any) -> Checkin:
        """Save my answers (replacing earlier ones); `submit` makes them final."""
        user = current_user()
        note_safety_check(safety_check)
        checkin = service.save_answers(checkin=checkin, user=user, **data)
        note_written(
            *(a["value"] for a in data["answers"] if isinstance(a["value"], str)),
            flagged=service.safety_messages(checkin=checkin, user=user),
        )
        return checkin


@blp.route("/couple/trends")
class Trends(MethodView):
    @with_couple()
    @blp.arguments(TrendQueryArgsSchema, location="query")
    @blp.response(200, TrendsSchema)
    @blp.doc(operationId="get_couple_trends")
    def get(self, args: dict, couple: Any) -> service.Trends:
        """Ratings of one scale prompt over time: mine, and my partner's shared ones."""
        return service.trends(
            couple=couple, viewer=current_user(), prompt_key=args["prompt"], since=args.get("since")
        )
