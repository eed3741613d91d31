"""Counseling API: link codes and views for counselors; links and exercises for couples."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import (
    COUNSELOR,
    PARTNER,
    current_session_id,
    current_user,
    role_required,
    with_couple,
    with_couple_object,
    with_link,
    with_linked_couple,
)
from backend.conversations.schemas import ConversationSchema
from backend.counseling import service
from backend.counseling.models import CounselorLink, Exercise
from backend.counseling.schemas import (
    CoupleCardSchema,
    CoupleDetailArgsSchema,
    CoupleDetailSchema,
    ExerciseCreateSchema,
    ExerciseSchema,
    LinkCodeSchema,
    LinkProposeSchema,
    LinkSchema,
    StartConversationSchema,
)
from backend.http import takes_no_part
from backend.ratelimit import reports_limits
from backend.viewer import note_written

if TYPE_CHECKING:
    from backend.couples.service import Couple

blp = Blueprint("counseling", __name__, url_prefix="/api/v1", description="Counselors.")
FRESH = "Needs a password login within the last 5 minutes: it widens who sees your data."


@blp.route("/counselor/link-codes")
class LinkCodes(MethodView):
    @takes_no_part  # the response holds a live code
    @role_required(COUNSELOR)
    @blp.response(201, LinkCodeSchema)
    def post(self) -> dict[str, Any]:
        """Make a single-use link code (counselors only), valid 7 days."""
        code, expires_at = service.create_link_code(counselor=current_user())
        return {"code": code, "expires_at": expires_at}


@blp.route("/counselor/couples")
class LinkedCouples(MethodView):
    @role_required(COUNSELOR)
    @blp.response(200, CoupleCardSchema(many=True))
    def get(self) -> list[service.LinkedCouple]:
        """The couples linked to you, each with a progress summary."""
        return service.linked_couples(counselor=current_user())


@blp.route("/counselor/couples/<couple_id>")
class LinkedCouple(MethodView):
    @with_linked_couple
    @blp.arguments(CoupleDetailArgsSchema, location="query")
    @blp.response(200, CoupleDetailSchema)
    def get(self, args: dict, couple: Couple, link: CounselorLink) -> service.LinkedCoupleInScope:
        """A linked couple within the scope they chose (404 unless linked)."""
        return service.couple_in_scope(couple=couple, link=link, prompt=args.get("prompt"))


@blp.route("/counselor/couples/<couple_id>/exercises")
class AssignExercise(MethodView):
    @with_linked_couple
    @blp.arguments(ExerciseCreateSchema)
    @blp.response(201, ExerciseSchema)
    @blp.doc(operationId="assign_exercise")
    def post(self, data: dict, couple: Couple, link: CounselorLink) -> Exercise:
        """Assign an exercise: a check-in, a guided conversation, or a reflection."""
        return service.assign_exercise(couple=couple, counselor=current_user(), **data)


@blp.route("/couple/counselor-links")
class CoupleLinks(MethodView):
    @with_couple()
    @blp.response(200, LinkSchema(many=True))
    def get(self, couple: Couple) -> list[CounselorLink]:
        """The couple's counselor links."""
        return service.links_of(couple)

    @reports_limits  # RateLimit fields on every answer
    @with_couple(write=True, fresh=True)
    @blp.arguments(LinkProposeSchema)
    @blp.response(201, LinkSchema)
    @blp.alt_response(401, description=FRESH)
    @blp.alt_response(409, description="Already linked, or the couple has ended.")
    @blp.alt_response(429, description="Too many wrong codes; see Retry-After.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    @blp.doc(operationId="propose_counselor_link")
    def post(self, data: dict, couple: Couple) -> CounselorLink:
        """Propose linking a counselor with their code; your partner must consent."""
        return service.propose_link(
            couple=couple, user=current_user(), session_id=current_session_id(), **data
        )


@blp.route("/counselor-links/<link_id>/consent")
class ConsentLink(MethodView):
    @with_link(role=PARTNER, fresh=True)
    @blp.response(200, LinkSchema)
    @blp.alt_response(401, description=FRESH)
    @blp.alt_response(409, description="Not pending, or you proposed it.")
    @blp.doc(operationId="consent_to_counselor_link")
    def post(self, link: CounselorLink) -> CounselorLink:
        """Consent to the link your partner proposed; only now the counselor sees the couple."""
        return service.consent_link(link=link, user=current_user(), session_id=current_session_id())


@blp.route("/counselor-links/<link_id>")
class LinkById(MethodView):
    @with_link()
    @blp.response(204)
    @blp.alt_response(409, description="Already ended.")
    @blp.doc(operationId="end_counselor_link")
    def delete(self, link: CounselorLink) -> None:
        """End the link at once (either partner, or the counselor); both partners are told."""
        service.end_link(link=link, user=current_user(), session_id=current_session_id())


@blp.route("/couple/exercises")
class CoupleExercises(MethodView):
    @with_couple()
    @blp.response(200, ExerciseSchema(many=True))
    def get(self, couple: Couple) -> list[Exercise]:
        """Exercises your counselors assigned, newest first."""
        return service.list_exercises(couple=couple)


@blp.route("/exercises/<exercise_id>/complete")
class CompleteExercise(MethodView):
    @with_couple_object("exercise_id", Exercise, write=True)
    @blp.response(200, ExerciseSchema)
    @blp.alt_response(409, description="Already done, or not open.")
    def post(self, exercise: Exercise) -> Exercise:
        """Mark your part done; when both have, the exercise is complete."""
        return service.complete_part(exercise=exercise, user=current_user())


@blp.route("/exercises/<exercise_id>/conversation")
class ExerciseConversation(MethodView):
    @with_couple_object("exercise_id", Exercise, write=True)
    @blp.arguments(StartConversationSchema)
    @blp.response(201, ConversationSchema)
    @blp.alt_response(409, description="Not a conversation exercise, or already started.")
    @blp.doc(operationId="start_exercise_conversation")
    def post(self, data: dict, exercise: Exercise) -> Any:
        """Start the guided conversation of a conversation exercise."""
        conversation = service.start_conversation(exercise=exercise, user=current_user(), **data)
        # As starting any conversation does, the answer offers the safety check.
        note_written(offer_check=True)
        return conversation
