"""Accounts: registration, login, token rotation, logout, profile and password changes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from flask_jwt_extended.exceptions import JWTExtendedException
from itsdangerous import BadSignature, URLSafeSerializer
from jwt import PyJWTError

from backend import clock
from backend.accounts.models import AuthSession, RefreshToken, User
from backend.accounts.passwords import hash_password, needs_rehash, verify_password
from backend.config import ACCESS_TOKEN_MINUTES, FRESH_LOGIN_MINUTES, REFRESH_TOKEN_DAYS
from backend.database import claim
from backend.errors import Conflict, Invalid, Unauthorized
from backend.extensions import db
from backend.notifications.models import Device
from backend.ratelimit import (
    LOGIN_PER_ACCOUNT,
    LOGIN_PER_ADDRESS,
    TAKEN_EMAILS_PER_ADDRESS,
    hashed_key,
    limiter,
)

LOGIN_FAILED = "The e-mail or password is not right."
TOO_MANY_LOGINS = "Too many failed attempts. Please wait a little and try again."


@dataclass(frozen=True)
class Tokens:
    """What a successful login, registration or refresh hands to the client."""

    user: User
    access_token: str
    refresh_token: str
    device_token: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = ACCESS_TOKEN_MINUTES * 60


def normalize_email(email: str) -> str:
    """E-mails are compared and stored lower-cased and trimmed."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The user with this e-mail, case-insensitively."""
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


EMAIL_TAKEN = "An account with this e-mail already exists."


def register(
    *, email: str, password: str, display_name: str, role: str, client_address: str = "-"
) -> Tokens:
    """Create an account and log it in."""
    email = normalize_email(email)
    rules = [(TAKEN_EMAILS_PER_ADDRESS, hashed_key("register-address", client_address))]
    limiter().check(rules, "Too many attempts. Please wait a little and try again.")
    if find_user_by_email(email) is not None:
        limiter().record_failure(rules)
        raise Conflict(EMAIL_TAKEN, errors={"email": [EMAIL_TAKEN]})
    user = User(
        email=email,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except sa.exc.IntegrityError as exc:
        db.session.rollback()
        raise Conflict(EMAIL_TAKEN, errors={"email": [EMAIL_TAKEN]}) from exc
    tokens = _start_session(user, fresh=True)
    db.session.commit()
    return tokens


def _login_rules(email: str, client_address: str, device_token: str | None) -> list:
    account_key = hashed_key("login-account", normalize_email(email))
    device = _device_nonce(device_token, email)
    if device is not None:
        # A device that logged in before has its own allowance, so that someone who knows the
        # e-mail cannot lock the owner out by failing on purpose.
        account_key = hashed_key("login-device", normalize_email(email), device)
    return [
        (LOGIN_PER_ADDRESS, hashed_key("login-address", client_address)),
        (LOGIN_PER_ACCOUNT, account_key),
    ]


def login(
    *, email: str, password: str, client_address: str, device_token: str | None = None
) -> Tokens:
    """Log in with e-mail and password; failures are counted and slowed down."""
    rules = _login_rules(email, client_address, device_token)
    limiter().check(rules, TOO_MANY_LOGINS)
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        limiter().record_failure(rules)
        raise Unauthorized(LOGIN_FAILED)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    tokens = _start_session(user, fresh=True)
    db.session.commit()
    return tokens


def refresh(*, refresh_token: str) -> Tokens:
    """Exchange a refresh token for a new pair; a token used twice revokes its session."""
    try:
        claims = decode_token(refresh_token)
    except (PyJWTError, JWTExtendedException) as exc:
        raise Unauthorized("The refresh token is not valid or has expired.") from exc
    if claims.get("type") != "refresh":
        raise Unauthorized("This is not a refresh token.")
    now = clock.now()
    session = db.session.get(AuthSession, claims.get("sid", ""))
    if session is None or session.revoked or session.user_id != claims["sub"]:
        raise Unauthorized("This session has ended. Please log in again.")
    # Claim the token atomically: of two concurrent uses, exactly one wins.
    claimed = claim(
        db.session,
        sa.update(RefreshToken)
        .where(RefreshToken.jti == claims["jti"], RefreshToken.session_id == session.id)
        .where(RefreshToken.used_at.is_(None))
        .values(used_at=now),
    )
    if not claimed:
        _revoke(session, "refresh_reuse", now)
        db.session.commit()
        raise Unauthorized(
            "This refresh token was already used, so every token of this login was revoked. "
            "Please log in again."
        )
    tokens = _issue_tokens(session.user, session, fresh=False)
    db.session.commit()
    return tokens


def logout(*, session_id: str) -> None:
    """End the session: its access and refresh tokens stop working at once."""
    session = db.session.get(AuthSession, session_id)
    if session is not None and not session.revoked:
        _revoke(session, "logout", clock.now())
    db.session.commit()


def change_password(
    *, user: User, session_id: str, current_password: str, new_password: str, client_address: str
) -> None:
    """Change the password and revoke every other session of the user."""
    check_own_password(
        user=user,
        password=current_password,
        client_address=client_address,
        field="current_password",
    )
    if current_password == new_password:
        raise Invalid.field("new_password", "Choose a password different from the current one.")
    now = clock.now()
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    others = db.session.scalars(
        sa.select(AuthSession).where(
            AuthSession.user_id == user.id,
            AuthSession.id != session_id,
            AuthSession.revoked_at.is_(None),
        )
    )
    for session in others:
        _revoke(session, "password_change", now)
    db.session.commit()


def check_own_password(*, user: User, password: str, client_address: str, field: str) -> None:
    """Confirm a logged-in person's password; wrong ones count like failed logins."""
    rules = _login_rules(user.email, client_address, None)
    limiter().check(rules, TOO_MANY_LOGINS)
    if not verify_password(user.password_hash, password):
        limiter().record_failure(rules)
        raise Invalid.field(field, "The password is not right.")


def update_profile(*, user: User, changes: dict) -> User:
    """Change the display name or time zone."""
    for field in ("display_name", "timezone", "discreet_notifications"):
        if field in changes:
            setattr(user, field, changes[field])
    db.session.commit()
    return user


def user_for_access_token(*, user_id: str, session_id: str | None) -> User | None:
    """The user of a live session, or None if the session is unknown, revoked or expired."""
    if not session_id:
        return None
    row = db.session.execute(
        sa.select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    ).first()
    if row is None:
        return None
    session, user = row
    if session.revoked or session.expires_at <= clock.now():
        return None
    return user


def purge_expired_sessions(*, now: datetime | None = None) -> int:
    """Delete sessions (and their refresh tokens) whose last refresh token has expired."""
    now = now or clock.now()
    expired = sa.select(AuthSession.id).where(AuthSession.expires_at <= now)
    db.session.execute(sa.delete(RefreshToken).where(RefreshToken.session_id.in_(expired)))
    count = db.session.execute(sa.delete(AuthSession).where(AuthSession.expires_at <= now)).rowcount
    db.session.commit()
    return count


def _start_session(user: User, *, fresh: bool) -> Tokens:
    session = AuthSession(user=user, expires_at=clock.now())
    db.session.add(session)
    db.session.flush()
    return _issue_tokens(user, session, fresh=fresh, device_token=_new_device_token(user))


def _issue_tokens(
    user: User, session: AuthSession, *, fresh: bool, device_token: str | None = None
) -> Tokens:
    now = clock.now()
    jti = secrets.token_urlsafe(24)
    expires_at = now + timedelta(days=REFRESH_TOKEN_DAYS)
    db.session.add(
        RefreshToken(jti=jti, session_id=session.id, issued_at=now, expires_at=expires_at)
    )
    session.expires_at = expires_at
    access = create_access_token(
        identity=user.id,
        fresh=timedelta(minutes=FRESH_LOGIN_MINUTES) if fresh else False,
        additional_claims={"sid": session.id, "role": user.role},
    )
    refresh_token = create_refresh_token(
        identity=user.id, additional_claims={"sid": session.id, "jti": jti}
    )
    return Tokens(
        user=user, access_token=access, refresh_token=refresh_token, device_token=device_token
    )


def _revoke(session: AuthSession, reason: str, now: datetime) -> None:
    session.revoked_at = now
    session.revoked_reason = reason
    # A phone that logged out (or was signed out by a password change) gets no more pushes.
    db.session.execute(sa.delete(Device).where(Device.session_id == session.id))


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="trustline-login-device")


def _new_device_token(user: User) -> str:
    return _device_serializer().dumps({"e": user.email, "d": secrets.token_urlsafe(12)})


def _device_nonce(device_token: str | None, email: str) -> str | None:
    """The device id inside a device token issued to this e-mail, or None."""
    if not device_token:
        return None
    try:
        data = _device_serializer().loads(device_token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("e") != normalize_email(email):
        return None
    nonce = data.get("d")
    return nonce if isinstance(nonce, str) else None
