"""Access and refresh tokens: the JWTs of a login session (flask-jwt-extended), kept apart from
the service's rules so that no service imports the web framework's extensions.

An access token carries the session id (`sid`) and the role, and is fresh for a few minutes
after a password login; a refresh token carries the session id and its own `jti`, rotated on
every use.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError


class InvalidToken(Exception):
    """A token that is malformed, badly signed or expired."""


def access_token(*, user_id: str, session_id: str, role: str, fresh_for: timedelta | None) -> str:
    """An access token of the session (`fresh_for`: how long it counts as a fresh login)."""
    return create_access_token(
        identity=user_id,
        fresh=fresh_for if fresh_for is not None else False,
        additional_claims={"sid": session_id, "role": role},
    )


def refresh_token(*, user_id: str, session_id: str, jti: str) -> str:
    """A refresh token of the session, with its one-use id."""
    return create_refresh_token(identity=user_id, additional_claims={"sid": session_id, "jti": jti})


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a valid token; InvalidToken otherwise."""
    try:
        return decode_token(token)
    except (PyJWTError, JWTExtendedException) as exc:
        raise InvalidToken from exc
