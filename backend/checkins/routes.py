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
from backend.couples.models import Couple
from backend.safety import service as safety

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
    def get(self, args: dict, couple: Couple) -> dict:
        """The couple's check-ins, newest first."""
        page = service.list_checkins(couple=couple, **args)
        viewer = current_user().id
        return {
            "items": [service.checkin_for_viewer(c, viewer, detail=False) for c in page.items],
            "next_cursor": page.next_cursor,
        }

    @with_couple(write=True)
    @blp.arguments(CheckinCreateSchema)
    @blp.response(201, CheckinSchema)
    @blp.alt_response(409, description="The couple has ended.")
    @blp.doc(operationId="open_checkin")
    def post(self, data: dict, couple: Couple) -> dict:
        """Open a check-in now; your partner is told."""
        user = current_user()
        checkin = service.open_checkin(
            couple=couple, prompt_set_key=data["prompt_set"], opened_by=user
        )
        return service.checkin_for_viewer(checkin, user.id)


@blp.route("/checkins/<checkin_id>")
class CheckinById(MethodView):
    @with_couple_object("checkin_id", Checkin)
    @blp.response(200, CheckinSchema)
    def get(self, checkin: Checkin) -> dict:
        """One check-in: your answers, and your partner's shared ones once both submitted."""
        return service.checkin_for_viewer(checkin, current_user().id)


@blp.route("/checkins/<checkin_id>/answers")
class CheckinAnswers(MethodView):
    @with_couple_object("checkin_id", Checkin, write=True)
    @blp.arguments(AnswersPutSchema)
    @blp.response(200, CheckinSchema)
    @blp.alt_response(409, description="Closed, already submitted, or the couple has ended.")
    @blp.doc(operationId="save_checkin_answers")
    def put(self, data: dict, checkin: Checkin) -> dict:
        """Save my answers (replacing earlier ones); `submit` makes them final."""
        user = current_user()
        checkin = service.save_answers(checkin=checkin, user=user, **data)
        wrote = [a["value"] for a in data["answers"] if isinstance(a["value"], str)]
        return {
            **service.checkin_for_viewer(checkin, user.id),
            "safety_notice": safety.notice_for(
                user, texts=wrote, flagged=service.safety_messages(checkin=checkin, user=user)
            ),
        }


@blp.route("/couple/trends")
class Trends(MethodView):
    @with_couple()
    @blp.arguments(TrendQueryArgsSchema, location="query")
    @blp.response(200, TrendsSchema)
    @blp.doc(operationId="get_couple_trends")
    def get(self, args: dict, couple: Couple) -> dict:
        """Ratings of one scale prompt over time: mine, and my partner's shared ones."""
        return service.trends(
            couple=couple, viewer=current_user(), prompt_key=args["prompt"], since=args.get("since")
        )
