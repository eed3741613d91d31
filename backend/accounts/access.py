"""Who is calling: access-token checks against the session blocklist, the current user, and
the role check that every role-bound route wears (through these decorators or the couple's and
counselor's access decorators built on `require_role`)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, g
from flask_jwt_extended import current_user as _jwt_current_user
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from sqlalchemy.exc import SQLAlchemyError

from backend.accounts import service
from backend.accounts.models import User
from backend.errors import NotFound, problem
from backend.extensions import db, jwt

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
PARTNER = "partner"
COUNSELOR = "counselor"
# A route of the other role is, for this caller, a route that does not exist: 404, as for
# anything not theirs. Naming the caller's own role tells them nothing they don't know.
NOT_FOR_ROLE = {
    PARTNER: "There is nothing here for a counselor's account: this is for partners.",
    COUNSELOR: "There is nothing here for a partner's account: this is for counselors.",
}


def current_user() -> User:
    """The authenticated caller (use inside a view protected by jwt_required)."""
    return _jwt_current_user  # type: ignore[return-value]


def require_role(user: User, role: str | None) -> User:
    """The user, if `role` is None or is theirs; else 404."""
    if role is not None and user.role != role:
        raise NotFound(NOT_FOR_ROLE[role])
    return user


def role_required(role: str | None, *, fresh: bool = False) -> Callable[[F], F]:
    """Decorate a view: authenticate (`fresh`: a password login within 5 minutes), then 404
    unless the caller has `role` (None: partners and counselors alike)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request(fresh=fresh)
            require_role(current_user(), role)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


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
