"""Who is calling: access-token checks against the session blocklist, and the current user."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g
from flask_jwt_extended import current_user as _jwt_current_user
from flask_jwt_extended import get_jwt

from backend.accounts import service
from backend.accounts.models import User
from backend.errors import problem
from backend.extensions import jwt


def current_user() -> User:
    """The authenticated caller (use inside a view protected by jwt_required)."""
    return _jwt_current_user  # type: ignore[return-value]


def current_session_id() -> str:
    """The login session of the caller's access token."""
    return str(get_jwt().get("sid", ""))


def _unauthorized(detail: str) -> Response:
    return problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def init_jwt(app: Flask) -> None:
    """Wire flask-jwt-extended to the database blocklist and to problem+json errors."""

    @jwt.token_in_blocklist_loader
    def is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        if payload.get("type") != "access":
            return True
        user = service.user_for_access_token(user_id=payload["sub"], session_id=payload.get("sid"))
        g.trustline_user = user
        return user is None

    @jwt.user_lookup_loader
    def load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
        return g.get("trustline_user")

    @jwt.unauthorized_loader
    def missing(reason: str) -> Response:
        return _unauthorized("Send an access token: Authorization: Bearer <token>.")

    @jwt.expired_token_loader
    def expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("The access token has expired. Refresh it or log in again.")

    @jwt.invalid_token_loader
    def invalid(reason: str) -> Response:
        return _unauthorized("The access token is not valid.")

    @jwt.revoked_token_loader
    def revoked(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("This session has ended. Please log in again.")

    @jwt.needs_fresh_token_loader
    def needs_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized(
            "This action needs a recent password login (within 5 minutes). Log in again first."
        )

    @jwt.user_lookup_error_loader
    def user_gone(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("This session has ended. Please log in again.")

    @jwt.token_verification_failed_loader
    def verification_failed(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("The access token is not valid.")
