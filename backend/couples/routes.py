"""Couples API: pairing invites, the caller's couple, and leaving."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import PARTNER, current_user, role_required, with_couple
from backend.couples import service
from backend.couples.models import Couple
from backend.couples.schemas import (
    AcceptInviteSchema,
    CoupleSchema,
    CoupleUpdateSchema,
    InviteSchema,
    LeaveSchema,
)
from backend.http import takes_no_part
from backend.ratelimit import reports_limits

blp = Blueprint("couples", __name__, url_prefix="/api/v1", description="Pairing and the couple.")


@blp.route("/pairing-invites")
class PairingInvites(MethodView):
    @takes_no_part  # the response holds a live code
    @role_required(PARTNER)
    @blp.response(201, InviteSchema)
    @blp.alt_response(409, description="You are already in a couple.")
    @blp.doc(operationId="create_pairing_code")
    def post(self) -> service.NewInvite:
        """Make a pairing code (partners only); it replaces your previous one."""
        return service.create_invite(user=current_user())


@blp.route("/pairing-invites/accept")
class AcceptInvite(MethodView):
    @reports_limits  # RateLimit fields on every answer
    @role_required(PARTNER)
    @blp.arguments(AcceptInviteSchema)
    @blp.response(201, CoupleSchema)
    @blp.alt_response(409, description="One of you is already in a couple.")
    @blp.alt_response(429, description="Too many wrong codes; see Retry-After.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    @blp.doc(operationId="accept_pairing_code")
    def post(self, data: dict) -> Couple:
        """Enter your partner's code to form your couple."""
        return service.accept_invite(user=current_user(), code=data["code"])


@blp.route("/couple")
class CoupleView(MethodView):
    @with_couple()
    @blp.response(200, CoupleSchema)
    def get(self, couple: Couple) -> Couple:
        """Your couple (the active one, or the one that ended most recently, read-only)."""
        return couple

    @with_couple(write=True)
    @blp.arguments(CoupleUpdateSchema)
    @blp.response(200, CoupleSchema)
    @blp.alt_response(409, description="The couple has ended.")
    def patch(self, changes: dict, couple: Couple) -> Couple:
        """Change the couple's time zone or name; both partners are told."""
        return service.update_couple(couple=couple, user=current_user(), changes=changes)


@blp.route("/couple/leave")
class Leave(MethodView):
    @with_couple(write=True)
    @blp.arguments(LeaveSchema, required=False)
    @blp.response(200, CoupleSchema)
    @blp.alt_response(409, description="The couple has already ended.")
    def post(self, data: dict, couple: Couple) -> Any:
        """Leave the couple, alone and at once; quiet unless you choose to tell your partner."""
        return service.leave(couple=couple, user=current_user(), **data)
