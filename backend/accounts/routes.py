"""Accounts API: /auth/* and /me."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from backend.accounts import service
from backend.accounts.access import current_session_id, current_user
from backend.accounts.schemas import (
    EraseSchema,
    LoginSchema,
    MeSchema,
    PasswordChangeSchema,
    ProfileUpdateSchema,
    RefreshSchema,
    RegisterSchema,
    TokensSchema,
    UserSchema,
)
from backend.privacy import service as privacy
from backend.privacy.schemas import ExportSchema
from backend.safety import service as safety

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and sessions.")
PUBLIC: dict[str, Any] = {"security": []}


@blp.route("/auth/register")
class Register(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(RegisterSchema)
    @blp.response(201, TokensSchema)
    @blp.alt_response(409, description="An account with this e-mail already exists.")
    @blp.alt_response(429, description="Too many taken e-mails from this address.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    def post(self, data: dict) -> service.Tokens:
        """Create an account (partner or counselor) and log it in."""
        return service.register(client_address=request.remote_addr or "-", **data)


@blp.route("/auth/login")
class Login(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Unknown e-mail or wrong password (alike).")
    @blp.alt_response(429, description="Too many failed attempts; see Retry-After.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    def post(self, data: dict) -> service.Tokens:
        """Log in with e-mail and password; unknown e-mail and wrong password look alike."""
        return service.login(client_address=request.remote_addr or "-", **data)


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @blp.doc(**PUBLIC)
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Invalid, expired, revoked or already used token.")
    def post(self, data: dict) -> service.Tokens:
        """Rotate a refresh token: it works once; using it again revokes the whole login."""
        return service.refresh(**data)


@blp.route("/auth/logout")
class Logout(MethodView):
    @jwt_required()
    @blp.response(204)
    def post(self) -> None:
        """End this login: its access and refresh tokens stop working at once."""
        service.logout(session_id=current_session_id())


def _me(user: Any) -> dict[str, Any]:
    return {
        **{name: getattr(user, name) for name in UserSchema().fields},
        "safety_check_completed": safety.check_of(user) is not None,
        "safety_notice": safety.notice_for(user),
    }


@blp.route("/me")
class Me(MethodView):
    @jwt_required()
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """The caller's account."""
        return _me(current_user())

    @jwt_required()
    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, MeSchema)
    def patch(self, changes: dict) -> Any:
        """Change display name, time zone or discreet notifications."""
        return _me(service.update_profile(user=current_user(), changes=changes))

    @jwt_required(fresh=True)
    @blp.arguments(EraseSchema)
    @blp.response(204)
    @blp.alt_response(401, description="Needs a password login within the last 5 minutes.")
    def delete(self, data: dict) -> None:
        """Erase your account: your data goes, your couple ends quietly. Cannot be undone."""
        privacy.erase(
            user=current_user(),
            password=data["password"],
            client_address=request.remote_addr or "-",
        )


@blp.route("/me/export")
class Export(MethodView):
    @jwt_required(fresh=True)
    @blp.response(200, ExportSchema)
    @blp.alt_response(401, description="Needs a password login within the last 5 minutes.")
    def get(self) -> Any:
        """Everything Trustline holds about you, as one JSON document."""
        return privacy.export(user=current_user())


@blp.route("/me/password")
class Password(MethodView):
    @jwt_required()
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(429, description="Too many wrong current passwords; see Retry-After.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    def post(self, data: dict) -> None:
        """Change the password; every other login of this account is revoked."""
        service.change_password(
            user=current_user(),
            session_id=current_session_id(),
            client_address=request.remote_addr or "-",
            **data,
        )
