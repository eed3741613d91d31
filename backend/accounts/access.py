"""Who is calling: access tokens checked against the session blocklist on every request.

What a caller may then reach is decided in `backend.access`, the one authorization module."""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Any

import jwt as pyjwt
from flask import Flask, Response, g
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.exceptions import JWTDecodeError, RevokedTokenError, WrongTokenError
from flask_jwt_extended.view_decorators import _decode_jwt_from_headers, _verify_token_is_fresh
from sqlalchemy.exc import SQLAlchemyError

from backend import clock
from backend.accounts import service
from backend.accounts.models import User
from backend.errors import problem
from backend.extensions import db, jwt

log = logging.getLogger(__name__)


def _unauthorized(detail: str) -> Response:
    return problem(401, detail, slug="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def authenticate(
    *,
    fresh: bool = False,
    statement: Any = None,
    plain: bool = False,
    params: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """The caller of this request, checked as flask-jwt-extended's `verify_jwt_in_request`
    checks them, in one parse of the token and one query: (user, *what `statement` adds).

    `statement` is `service.caller_statement()` with more joined on (the caller's couple, the
    object the URL names, found in the same round trip; `params` for what it added); with
    `plain`, `service.plain_caller_statement()` extended, and the caller is a
    `service.Caller` (id and role), not the account. The token's session
    is read on every request, so a logout or a password change holds on the next one. Raises
    flask-jwt-extended's own errors, which its handlers (set in `init_jwt`) answer as 401
    problem+json, exactly as before.
    """
    header, claims = verified_token(fresh=fresh)
    found = None
    if claims["type"] == "access":
        found = service.live_caller(
            user_id=claims["sub"],
            session_id=claims.get("sid"),
            statement=statement,
            plain=plain,
            params=params,
        )
    return accept_caller(header, claims, found, plain=plain)


def verified_token(*, fresh: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of this request's token, checked as `authenticate` checks them
    before it reads the session (signature, times, type, freshness); raises its errors."""
    token, _ = _decode_jwt_from_headers()
    header, claims = _verified(token)
    if claims["type"] == "refresh":
        raise WrongTokenError("Only non-refresh tokens are allowed")
    if fresh:
        _verify_token_is_fresh(header, claims)
    return header, claims


def accept_caller(
    header: dict[str, Any], claims: dict[str, Any], found: tuple[Any, ...] | None, *, plain: bool
) -> tuple[Any, ...]:
    """`authenticate`'s last step: the caller of the token whose session check found `found`
    (a row of `service.live_caller`'s statement, None if the session is not live), noted for
    the rest of the request; raises `RevokedTokenError` (401) for None. Whoever reads the
    session row in a statement of their own (`service.live_row`) ends with this."""
    if found is None or claims["type"] != "access":
        raise RevokedTokenError(header, claims)
    if plain:
        session_id, _revoked_at, _expires_at, last_used_at, user_id, role, *extra = found
        user: Any = service.Caller(user_id, role)
    else:
        session_id, _revoked_at, _expires_at, last_used_at, user, *extra = found
    if service.needs_touch(last_used_at):
        g.trustline_touch_session = session_id
    # What flask-jwt-extended's `current_user` and `get_jwt()` read.
    g._jwt_extended_jwt_user = {"loaded_user": user}
    g._jwt_extended_jwt_header = header
    g._jwt_extended_jwt = claims
    g._jwt_extended_jwt_location = "headers"
    return (user, *extra)


def _verified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a token signed with our key, with the same checks and defaults
    as flask-jwt-extended's `decode_token` (which parses a token four times). The signature
    and form of a token are checked once (`_signed`); its times on every request."""
    leeway = jwt_config.leeway
    leeway = float(leeway.total_seconds() if isinstance(leeway, timedelta) else leeway)
    header, signed = _signed(
        token,
        jwt_config.decode_key,
        tuple(jwt_config.decode_algorithms),
        jwt_config.decode_issuer,
        jwt_config.verify_sub,
    )
    claims = dict(signed)  # the request's own copy: defaults are added below
    try:
        _check_times(claims, clock.now().timestamp(), leeway)
    except pyjwt.ExpiredSignatureError as exc:
        # What the expired-token handler reads, as flask-jwt-extended attaches it.
        exc.jwt_header = header  # type: ignore[attr-defined]
        exc.jwt_data = claims  # type: ignore[attr-defined]
        raise
    if jwt_config.identity_claim_key not in claims:
        raise JWTDecodeError(f"Missing claim: {jwt_config.identity_claim_key}")
    claims.setdefault("type", "access")
    claims.setdefault("fresh", False)
    claims.setdefault("jti", None)
    return header, claims


@functools.lru_cache(maxsize=4096)
def _signed(
    token: str, key: str, algorithms: tuple[str, ...], issuer: str | None, verify_sub: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a token whose signature and claims' form PyJWT accepts, its times
    left to `_check_times`. Kept for the tokens seen last: parsing a token is a fifth of a
    short request, and a token's signature never changes. A token that fails raises, and
    nothing of it is kept."""
    complete = pyjwt.api_jwt.decode_complete(
        token,
        key=key,
        algorithms=list(algorithms),
        issuer=issuer,
        options={
            "verify_aud": False,
            "verify_sub": verify_sub,
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
        },
    )
    return complete["header"], complete["payload"]


def _check_times(claims: dict[str, Any], now: float, leeway: float) -> None:
    """PyJWT's checks of `iat`, `nbf` and `exp`, in its order and with its errors
    (`PyJWT._validate_iat`, `_validate_nbf`, `_validate_exp` in jwt/api_jwt.py)."""
    if (
        "iat" in claims
        and _moment(claims["iat"], pyjwt.InvalidIssuedAtError, "Issued At", "iat") > now + leeway
    ):
        raise pyjwt.ImmatureSignatureError("The token is not yet valid (iat)")
    if (
        "nbf" in claims
        and _moment(claims["nbf"], pyjwt.DecodeError, "Not Before", "nbf") > now + leeway
    ):
        raise pyjwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    if (
        "exp" in claims
        and _moment(claims["exp"], pyjwt.DecodeError, "Expiration Time", "exp") <= now - leeway
    ):
        raise pyjwt.ExpiredSignatureError("Signature has expired")


def _moment(value: Any, error: type[Exception], name: str, claim: str) -> int:
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        raise error(f"{name} claim ({claim}) must be an integer.") from None


def init_jwt(app: Flask) -> None:
    """Wire flask-jwt-extended to the database blocklist and to problem+json errors."""

    @jwt.token_in_blocklist_loader
    def is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        if payload.get("type") != "access":
            return True
        found = service.live_session(user_id=payload["sub"], session_id=payload.get("sid"))
        g.trustline_user = found[1] if found else None
        if found and service.needs_touch(found[0].last_used_at):
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
