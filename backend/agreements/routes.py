"""Transparency agreements API."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from backend.access import current_user, with_couple, with_couple_object
from backend.agreements import library, service
from backend.agreements.models import Agreement
from backend.agreements.schemas import (
    AgreementCreateSchema,
    AgreementPageSchema,
    AgreementQueryArgsSchema,
    AgreementSchema,
    ConsentSchema,
    SuggestionQueryArgsSchema,
    SuggestionsSchema,
    VersionCreateSchema,
    WithdrawSchema,
)
from backend.pagination import Page
from backend.viewer import note_safety_check, note_written

blp = Blueprint(
    "agreements", __name__, url_prefix="/api/v1", description="Transparency agreements."
)
ETAG_HEADER = {
    "ETag": {
        "description": "Send it back in If-Match to amend; the body's `etag` holds the same.",
        "required": True,
        "schema": {"type": "string"},
    }
}
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": True,
    "description": "The agreement's current ETag (missing: 428; stale: 412).",
    "schema": {"type": "string"},
}


def _with_etag(agreement: Agreement) -> tuple[Agreement, dict[str, str]]:
    """The agreement for its schema, with its ETag header (the body's `etag` holds the same)."""
    return agreement, {"ETag": service.etag(agreement)}


@blp.route("/agreement-suggestions")
class Suggestions(MethodView):
    @jwt_required()
    @blp.arguments(SuggestionQueryArgsSchema, location="query")
    @blp.response(200, SuggestionsSchema)
    def get(self, args: dict) -> dict[str, Any]:
        """Suggested commitments, written as mutual ones, and guidance on trust versus control."""
        return {
            "about": library.guidance("about"),
            "guidance": {k: library.guidance(k) for k in library.guidance_keys() if k != "about"},
            "categories": library.categories(),
            "suggestions": library.suggestions(args.get("category")),
        }


@blp.route("/couple/agreements")
class CoupleAgreements(MethodView):
    @with_couple()
    @blp.arguments(AgreementQueryArgsSchema, location="query")
    @blp.response(200, AgreementPageSchema)
    def get(self, args: dict, couple: Any) -> Page[Agreement]:
        """The couple's agreements, newest first."""
        return service.list_agreements(couple=couple, **args)

    @with_couple(write=True)
    @blp.arguments(AgreementCreateSchema)
    @blp.response(201, AgreementSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="The couple has ended.")
    def post(self, data: dict, couple: Any) -> Any:
        """Draft an agreement; your proposal counts as your consent, your partner decides."""
        agreement = service.create_agreement(couple=couple, user=current_user(), **data)
        note_written(offer_check=True)
        return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>")
class AgreementById(MethodView):
    @with_couple_object("agreement_id", Agreement)
    @blp.response(200, AgreementSchema, headers=ETAG_HEADER)
    def get(self, agreement: Agreement) -> Any:
        """One agreement: status, the version in force, a pending proposal, every version."""
        return _with_etag(agreement)


@blp.route("/agreements/<agreement_id>/versions")
class AgreementVersions(MethodView):
    @with_couple_object("agreement_id", Agreement, write=True)
    @blp.arguments(VersionCreateSchema)
    @blp.doc(parameters=[IF_MATCH])
    @blp.response(201, AgreementSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="Withdrawn, ended, or the couple has ended.")
    @blp.alt_response(412, description="If-Match is stale: the agreement changed.")
    @blp.alt_response(428, description="If-Match is missing.")
    @blp.doc(operationId="propose_agreement_version")
    def post(self, data: dict, agreement: Agreement) -> Any:
        """Propose a new version (amendment or counter-proposal); needs If-Match."""
        updated = service.propose_version(
            agreement=agreement,
            user=current_user(),
            if_match=request.headers.get("If-Match"),
            **data,
        )
        return _with_etag(updated)


@blp.route("/agreements/<agreement_id>/consent")
class AgreementConsent(MethodView):
    @with_couple_object("agreement_id", Agreement, write=True, safety_check=True)
    @blp.arguments(ConsentSchema)
    @blp.response(200, AgreementSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="Not the latest proposal, or already agreed.")
    @blp.doc(operationId="consent_to_agreement")
    def post(self, data: dict, agreement: Agreement, safety_check: Any) -> Any:
        """Agree to one exact version; when both have, it is in force."""
        user = current_user()
        note_safety_check(safety_check)
        updated = service.consent(agreement=agreement, user=user, version_number=data["version"])
        return _with_etag(updated)


@blp.route("/agreements/<agreement_id>/withdraw")
class AgreementWithdraw(MethodView):
    @with_couple_object("agreement_id", Agreement, write=True)
    @blp.arguments(WithdrawSchema, required=False)
    @blp.response(200, AgreementSchema, headers=ETAG_HEADER)
    @blp.alt_response(409, description="Already withdrawn or ended.")
    @blp.doc(operationId="withdraw_from_agreement")
    def post(self, data: dict, agreement: Agreement) -> Any:
        """Withdraw, alone and at once; no reason needed. Both partners are told."""
        updated = service.withdraw(agreement=agreement, user=current_user(), **data)
        return _with_etag(updated)
