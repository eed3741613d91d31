"""Measures API: the library, counselors' questionnaires and assignments, partners' responses,
scores and sharing."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import verify_jwt_in_request
from flask_smorest import Blueprint

from backend.access import (
    COUNSELOR,
    PARTNER,
    current_session_id,
    current_user,
    role_required,
    with_couple,
    with_linked_couple,
    with_own_assignment,
    with_own_measure,
    with_own_response,
)
from backend.measures import service
from backend.measures.models import Measure, MeasureAssignment, MeasureResponse
from backend.measures.schemas import (
    AssignmentCreateSchema,
    AssignmentSchema,
    MeasureCreateSchema,
    MeasurePatchSchema,
    MeasureResponseCreateSchema,
    MeasureResponsePageSchema,
    MeasureResponsePutSchema,
    MeasureResponseQueryArgsSchema,
    MeasureResponseSavedSchema,
    MeasureResponseSchema,
    MeasureSchema,
    ScoresSchema,
    SharedScoresSchema,
    SharingPutSchema,
    SharingSchema,
)
from backend.pagination import Page
from backend.viewer import note_written

blp = Blueprint(
    "measures", __name__, url_prefix="/api/v1", description="Questionnaires and scores."
)
FRESH = "Turning sharing or alerts on needs a password login within the last 5 minutes."


def require_fresh_login() -> None:
    """Refuse unless the access token is fresh: export's own check, with export's 401."""
    verify_jwt_in_request(fresh=True)


# --- the library ----------------------------------------------------------------------------


@blp.route("/measures")
class Measures(MethodView):
    @role_required(None)
    @blp.response(200, MeasureSchema(many=True))
    @blp.doc(operationId="list_measures")
    def get(self) -> list[Measure]:
        """The library, and the published questionnaires of your (or your couple's) counselors."""
        return service.list_measures(user=current_user())


@blp.route("/measures/<measure_key>")
class MeasureByKey(MethodView):
    @role_required(None)
    @blp.response(200, MeasureSchema)
    @blp.doc(operationId="get_measure")
    def get(self, measure_key: str) -> Measure:
        """One questionnaire in its current version."""
        return service.find_measure(user=current_user(), key=measure_key)


# --- counselors' own questionnaires ---------------------------------------------------------


@blp.route("/counselor/measures")
class CounselorMeasures(MethodView):
    @role_required(COUNSELOR)
    @blp.response(200, MeasureSchema(many=True))
    @blp.doc(operationId="list_counselor_measures")
    def get(self) -> list[Measure]:
        """The questionnaires you wrote, drafts included, newest first."""
        return service.own_measures(counselor=current_user())

    @role_required(COUNSELOR)
    @blp.arguments(MeasureCreateSchema)
    @blp.response(201, MeasureSchema)
    @blp.doc(operationId="create_counselor_measure")
    def post(self, data: dict) -> Measure:
        """Write a questionnaire: a draft you can edit until you publish it."""
        return service.create_measure(counselor=current_user(), definition=data)


@blp.route("/counselor/measures/<measure_id>")
class CounselorMeasureById(MethodView):
    @with_own_measure
    @blp.arguments(MeasurePatchSchema)
    @blp.response(200, MeasureSchema)
    @blp.alt_response(409, description="Published: a published questionnaire is frozen.")
    @blp.doc(operationId="update_counselor_measure")
    def patch(self, data: dict, measure: Measure) -> Measure:
        """Edit a draft (what you leave out stays)."""
        return service.update_draft(measure=measure, changes=data)


@blp.route("/counselor/measures/<measure_id>/publish")
class PublishMeasure(MethodView):
    @with_own_measure
    @blp.response(200, MeasureSchema)
    @blp.alt_response(409, description="Already published.")
    @blp.doc(operationId="publish_counselor_measure")
    def post(self, measure: Measure) -> Measure:
        """Publish a draft: frozen from now on, so scores stay comparable; it can be assigned."""
        return service.publish(measure=measure)


# --- assignments ----------------------------------------------------------------------------


@blp.route("/counselor/couples/<couple_id>/measure-assignments")
class MeasureAssignments(MethodView):
    @with_linked_couple
    @blp.response(200, AssignmentSchema(many=True))
    @blp.doc(operationId="list_measure_assignments")
    def get(self, couple: Any, link: Any) -> list[MeasureAssignment]:
        """The questionnaires you assigned to this couple (never anyone's answers)."""
        return service.assignments_of(couple=couple, counselor=current_user())

    @with_linked_couple
    @blp.arguments(AssignmentCreateSchema)
    @blp.response(201, AssignmentSchema)
    @blp.alt_response(409, description="The couple has ended.")
    @blp.doc(operationId="assign_measure")
    def post(self, data: dict, couple: Any, link: Any) -> MeasureAssignment:
        """Ask one or both partners to answer a questionnaire, once or every 1, 2 or 4 weeks,
        at each partner's local time."""
        return service.assign(couple=couple, counselor=current_user(), **data)


@blp.route("/measure-assignments/<assignment_id>")
class MeasureAssignmentById(MethodView):
    @with_own_assignment
    @blp.response(204)
    @blp.alt_response(409, description="Already ended.")
    @blp.doc(operationId="end_measure_assignment")
    def delete(self, assignment: MeasureAssignment) -> None:
        """Stop an assignment: nothing more opens. What is open stays the partners' own."""
        service.end_assignment(assignment=assignment)


@blp.route("/counselor/couples/<couple_id>/measures")
class SharedScores(MethodView):
    @with_linked_couple
    @blp.response(200, SharedScoresSchema)
    @blp.doc(operationId="list_shared_measure_scores")
    def get(self, couple: Any, link: Any) -> service.SharedScores:
        """The scores of each partner who shares theirs with you, per questionnaire, with bands."""
        return service.shared_scores(couple=couple, link=link)


# --- partners: responses and scores ---------------------------------------------------------


@blp.route("/me/measure-responses")
class MyResponses(MethodView):
    @role_required(PARTNER)
    @blp.arguments(MeasureResponseQueryArgsSchema, location="query")
    @blp.response(200, MeasureResponsePageSchema)
    @blp.doc(operationId="list_my_measure_responses")
    def get(self, args: dict) -> Page[MeasureResponse]:
        """My questionnaires (`status=open`: what I have to fill in), newest first."""
        return service.list_responses(user=current_user(), **args)

    @role_required(PARTNER)
    @blp.arguments(MeasureResponseCreateSchema)
    @blp.response(201, MeasureResponseSchema)
    @blp.doc(operationId="start_measure_response")
    def post(self, data: dict) -> MeasureResponse:
        """Take a questionnaire now, on my own; only I see it."""
        return service.start_response(user=current_user(), measure_key=data["measure"])


@blp.route("/measure-responses/<response_id>")
class ResponseById(MethodView):
    @with_own_response
    @blp.response(200, MeasureResponseSchema)
    @blp.doc(operationId="get_measure_response")
    def get(self, response: MeasureResponse) -> MeasureResponse:
        """One of my responses (nobody else can open it)."""
        return response

    @with_own_response
    @blp.arguments(MeasureResponsePutSchema)
    @blp.response(200, MeasureResponseSavedSchema)
    @blp.alt_response(409, description="Closed, or already submitted.")
    @blp.doc(operationId="save_measure_response")
    def put(self, data: dict, response: MeasureResponse) -> MeasureResponse:
        """Save my answers (replacing earlier ones); `submit` scores them. An answer that marks
        risk brings the safety resources at once, to me alone."""
        response = service.save_response(response=response, user=current_user(), **data)
        note_written(*service.written_texts(response), flagged=service.safety_messages(response))
        return response


@blp.route("/me/measures/<measure_key>/scores")
class MyScores(MethodView):
    @role_required(PARTNER)
    @blp.response(200, ScoresSchema)
    @blp.doc(operationId="get_my_measure_scores")
    def get(self, measure_key: str) -> service.Scores:
        """My scores for one questionnaire, oldest first, with their bands."""
        return service.my_scores(user=current_user(), measure_key=measure_key)


# --- partners: sharing ----------------------------------------------------------------------


@blp.route("/me/measure-sharing")
class MySharing(MethodView):
    @with_couple()
    @blp.response(200, SharingSchema)
    @blp.doc(operationId="get_my_measure_sharing")
    def get(self, couple: Any) -> service.SharingChoices:
        """With which linked counselor I share my scores, and whether they are alerted on risk."""
        return service.sharing_of(user=current_user(), couple=couple)

    @with_couple()
    @blp.arguments(SharingPutSchema)
    @blp.response(200, SharingSchema)
    @blp.alt_response(401, description=FRESH)
    @blp.doc(operationId="set_my_measure_sharing")
    def put(self, data: dict, couple: Any) -> service.SharingChoices:
        """Share my scores with one linked counselor (fresh login), or stop at once (none)."""
        return service.set_sharing(
            user=current_user(),
            couple=couple,
            confirm_fresh_login=require_fresh_login,
            session_id=current_session_id(),
            **data,
        )
