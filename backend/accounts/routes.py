"""Accounts API: /auth/* and /me."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_jwt_extended import verify_jwt_in_request
from flask_smorest import Blueprint

from backend.access import current_session_id, current_user, role_required
from backend.accounts import activity, service
from backend.accounts.models import User
from backend.accounts.schemas import (
    ActivityListSchema,
    EraseSchema,
    LoginSchema,
    MeSchema,
    PasswordChangeSchema,
    ProfileUpdateSchema,
    RefreshSchema,
    RegisterSchema,
    SessionListSchema,
    SessionsEndedSchema,
    TokensSchema,
)
from backend.export_schemas import ExportSchema
from backend.http import takes_no_part
from backend.ids import ID_LENGTH
from backend.pagination import PageArgsSchema
from backend.privacy import service as privacy
from backend.ratelimit import reports_limits

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and sessions.")
PUBLIC: dict[str, Any] = {"security": []}


@blp.route("/auth/register")
class Register(MethodView):
    @reports_limits  # RateLimit fields on every answer
    @takes_no_part  # the request holds a password, the response tokens
    @blp.doc(**PUBLIC)
    @blp.arguments(RegisterSchema)
    @blp.response(201, TokensSchema)
    @blp.alt_response(409, description="An account with this e-mail already exists.")
    @blp.alt_response(429, description="Too many taken e-mails from this address.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    @blp.doc(operationId="register_account")
    def post(self, data: dict) -> service.Tokens:
        """Create an account (partner or counselor) and log it in."""
        return service.register(
            client_address=request.remote_addr or "-",
            user_agent=request.headers.get("User-Agent"),
            **data,
        )


@blp.route("/auth/login")
class Login(MethodView):
    @reports_limits  # RateLimit fields on every answer
    @takes_no_part  # the request holds a password, the response tokens
    @blp.doc(**PUBLIC)
    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Unknown e-mail or wrong password (alike).")
    @blp.alt_response(429, description="Too many failed attempts; see Retry-After.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    @blp.doc(operationId="log_in")
    def post(self, data: dict) -> service.Tokens:
        """Log in with e-mail and password; unknown e-mail and wrong password look alike."""
        return service.login(
            client_address=request.remote_addr or "-",
            user_agent=request.headers.get("User-Agent"),
            **data,
        )


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @takes_no_part  # the request and the response hold refresh tokens
    @blp.doc(**PUBLIC)
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="Invalid, expired, revoked or already used token.")
    @blp.doc(operationId="refresh_tokens")
    def post(self, data: dict) -> service.Tokens:
        """Rotate a refresh token: it works once; using it again revokes the whole login."""
        return service.refresh(**data)


@blp.route("/auth/logout")
class Logout(MethodView):
    @takes_no_part  # like all of /auth/: a retried logout gets 401, its session has ended
    @role_required(None)
    @blp.response(204)
    @blp.doc(operationId="log_out")
    def post(self) -> None:
        """End this login: its access and refresh tokens stop working at once."""
        service.logout(session_id=current_session_id())


@blp.route("/me")
class Me(MethodView):
    @role_required(None)
    @blp.response(200, MeSchema)
    def get(self) -> User:
        """The caller's account."""
        return current_user()

    @role_required(None)
    @blp.arguments(ProfileUpdateSchema)
    @blp.response(200, MeSchema)
    @blp.alt_response(
        401, description="Turning discreet notifications off needs a recent password login."
    )
    def patch(self, changes: dict) -> User:
        """Change display name, time zone or discreet notifications (off: fresh login)."""
        return service.update_profile(
            user=current_user(),
            changes=changes,
            confirm_fresh_login=lambda: verify_jwt_in_request(fresh=True),
            session_id=current_session_id(),
        )

    @reports_limits  # RateLimit fields on every answer
    @role_required(None, fresh=True)
    @blp.arguments(EraseSchema)
    @blp.response(204)
    @blp.alt_response(401, description="Needs a password login within the last 5 minutes.")
    @blp.alt_response(429, description="Too many wrong passwords; see Retry-After.")
    def delete(self, data: dict) -> None:
        """Erase your account: your data goes, your couple ends quietly. Cannot be undone."""
        privacy.erase(
            user=current_user(),
            password=data["password"],
            client_address=request.remote_addr or "-",
            session_id=current_session_id(),
        )


@blp.route("/me/export")
class Export(MethodView):
    @role_required(None, fresh=True)
    @blp.response(200, ExportSchema)
    @blp.alt_response(401, description="Needs a password login within the last 5 minutes.")
    def get(self) -> Any:
        """Everything Trustline holds about you, as one JSON document."""
        return privacy.export(user=current_user(), session_id=current_session_id())


@blp.route("/me/password")
class Password(MethodView):
    @reports_limits  # RateLimit fields on every answer
    @takes_no_part  # the request holds the current and the new password
    @role_required(None)
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    @blp.alt_response(429, description="Too many wrong current passwords; see Retry-After.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    @blp.doc(operationId="change_my_password")
    def post(self, data: dict) -> None:
        """Change the password; every other login of this account is revoked."""
        service.change_password(
            user=current_user(),
            session_id=current_session_id(),
            client_address=request.remote_addr or "-",
            **data,
        )


@blp.route("/me/sessions")
class Sessions(MethodView):
    @role_required(None)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, SessionListSchema)
    def get(self, args: dict) -> Any:
        """Your live sign-ins, newest first: the device, when it began and was last used."""
        return service.live_sessions(user=current_user(), **args)


# Ids are 22 characters, so `/me/sessions/end-others` is never taken for a session's address
# (and OPTIONS there does not advertise DELETE).
@blp.route(f"/me/sessions/<string(length={ID_LENGTH}):session_id>")
class SessionById(MethodView):
    @role_required(None)
    @blp.response(204)
    @blp.alt_response(404, description="No sign-in of yours has this id.")
    def delete(self, session_id: str) -> None:
        """End one of your sign-ins at once (no fresh login: protecting yourself never needs
        one); its tokens stop working and its push devices are removed."""
        user = current_user()
        service.end_session(
            user=user,
            session=service.session_of(user, session_id),
            by_session_id=current_session_id(),
        )


@blp.route("/me/sessions/end-others")
class EndOtherSessions(MethodView):
    @role_required(None)
    @blp.response(200, SessionsEndedSchema)
    @blp.doc(operationId="end_my_other_sessions")
    def post(self) -> dict[str, int]:
        """End every sign-in but this one, at once; their push devices are removed."""
        ended = service.end_other_sessions(user=current_user(), by_session_id=current_session_id())
        return {"ended": ended}


@blp.route("/me/activity")
class Activity(MethodView):
    @role_required(None)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, ActivityListSchema)
    @blp.doc(operationId="list_my_activity")
    def get(self, args: dict) -> Any:
        """What changed in your account, newest first: when, what, and from which sign-in."""
        return activity.page(user_id=current_user().id, **args)
