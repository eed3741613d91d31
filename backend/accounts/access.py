"""Who is calling: access tokens checked against the session blocklist on every request.

What a caller may then reach is decided in `backend.access`, the one authorization module."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g
from sqlalchemy.exc import SQLAlchemyError

from backend.accounts import service
from backend.accounts.models import User
from backend.errors import problem
from backend.extensions import db, jwt

log = logging.getLogger(__name__)


def _unauthorized(detail: str) -> Response:
    return problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def init_jwt(app: Flask) -> None:
    """Wire flask-jwt-extended to the database blocklist and to problem+json errors."""

    @jwt.token_in_blocklist_loader
    def is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        if payload.get("type") != "access":
            return True
        found = service.live_session(user_id=payload["sub"], session_id=payload.get("sid"))
        g.trustline_user = found[1] if found else None
        if found and service.needs_touch(found[0]):
            g.trustline_touch_session = found[0].id
        return found is None

    @app.after_request
    def note_session_use(response: Response) -> Response:
        # After the view, never inside it: the once-a-minute write of `last_used_at` adds no
        # query to the check above, and commits nothing of the request's own work (whatever
        # a view left uncommitted is rolled back, as teardown would).
        session_id = g.pop("trustline_touch_session", None)
        if session_id is not None:
            db.session.rollback()
            try:
                service.touch_session(session_id=session_id)
            except SQLAlchemyError:
                # A busy database costs the list a minute's precision, never the answer.
                db.session.rollback()
                log.warning("could not note a session's last use")
        return response

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
