"""Accounts: registration, login, token rotation, logout, profile and password changes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, NoReturn

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer

from backend import clock

# User is also how other domains name a person: `accounts.User`, through this service.
from backend.accounts import activity
from backend.accounts import tokens as jwts
from backend.accounts.clients import UNKNOWN as UNKNOWN_DEVICE
from backend.accounts.clients import describe_client
from backend.accounts.models import AuthSession, RefreshToken, User
from backend.accounts.passwords import hash_password, needs_rehash, verify_password
from backend.config import ACCESS_TOKEN_MINUTES, FRESH_LOGIN_MINUTES, REFRESH_TOKEN_DAYS, setting
from backend.database import claim
from backend.errors import Conflict, Invalid, NotFound, Unauthorized
from backend.extensions import db
from backend.pagination import Page, keyset_page
from backend.ratelimit import (
    LOGIN_PER_ACCOUNT,
    LOGIN_PER_ADDRESS,
    TAKEN_EMAILS_PER_ADDRESS,
    Rule,
    hashed_key,
    limiter,
    report_limits,
)
from backend.unit_of_work import read_connection, use_case

LOGIN_FAILED = "The e-mail or password is not right."
TOO_MANY_LOGINS = "Too many failed attempts. Please wait a little and try again."
TOO_MANY_REGISTRATIONS = "Too many attempts. Please wait a little and try again."

# What must stop when a sign-in ends (its push devices): given the session's id, a hook does
# it in the same transaction and returns how many push devices went with it.
SessionEndedHook = Callable[[str], int]
_session_ended_hooks: list[SessionEndedHook] = []


def on_session_ended(hook: SessionEndedHook) -> SessionEndedHook:
    """Register what must stop when a sign-in ends (logout, password change, ended by its
    owner, a refresh token used twice): notifications forgets the devices it registered."""
    _session_ended_hooks.append(hook)
    return hook


def record_activity(
    *, user_id: str, kind: str, session_id: str | None = None, details: dict | None = None
) -> None:
    """Add an event to the person's account activity, in the caller's use case (the kinds
    and what `details` may hold: `backend.accounts.activity`)."""
    activity.record(user_id=user_id, kind=kind, session_id=session_id, details=details)


@dataclass(frozen=True)
class Tokens:
    """What a successful login, registration or refresh hands to the client."""

    user: User
    access_token: str
    refresh_token: str
    device_token: str | None = None
    session_id: str | None = None
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = ACCESS_TOKEN_MINUTES * 60


@dataclass(frozen=True)
class LoginRules:
    """A login attempt's (limits, key) pairs: those it must find open, those a failure fills."""

    checked: list[Rule]
    counted: list[Rule]


def normalize_email(email: str) -> str:
    """E-mails are compared and stored lower-cased and trimmed."""
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The user with this e-mail, case-insensitively."""
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def find_user(user_id: str) -> User | None:
    """The person with this id, if any (erased accounts included: check `erased_at`)."""
    return db.session.get(User, user_id)


EMAIL_TAKEN = "An account with this e-mail already exists."


@use_case
def register(
    *,
    email: str,
    password: str,
    display_name: str,
    role: str,
    client_address: str = "-",
    client_label: str | None = None,
    user_agent: str | None = None,
) -> Tokens:
    """Create an account and log it in."""
    email = normalize_email(email)
    # Every answer reports the address's allowance of taken e-mails (RateLimit fields), new
    # e-mail or not; only an answer that says "taken" is limited, and only once the lookup has
    # said so: a new e-mail always registers, however many taken ones were tried from there.
    report_limits(_taken_email_rules(client_address))
    if find_user_by_email(email) is not None:
        _refuse_taken_email(client_address)
    user = User(
        email=email,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
    )
    db.session.add(user)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:
        # Taken by a concurrent registration: the use case rolls back as the 409 leaves.
        _refuse_taken_email(client_address)
    tokens = _start_session(user, fresh=True, client_label=client_label, user_agent=user_agent)
    activity.record(user_id=user.id, kind="account_created", session_id=tokens.session_id)
    return tokens


def _taken_email_rules(client_address: str) -> list[Rule]:
    """The window counting the taken e-mails an address has been told of."""
    return [(TAKEN_EMAILS_PER_ADDRESS, hashed_key("register-address", client_address))]


def _refuse_taken_email(client_address: str) -> NoReturn:
    """Answer 409 for a taken e-mail, or 429 once this address has learned too many."""
    rules = _taken_email_rules(client_address)
    limiter().check(rules, TOO_MANY_REGISTRATIONS)
    limiter().record_failure(rules)
    raise Conflict(EMAIL_TAKEN, errors={"email": [EMAIL_TAKEN]})


def _login_rules(email: str, client_address: str, device_token: str | None) -> LoginRules:
    """The windows a login attempt must find open, and those its failure counts in."""
    address = (LOGIN_PER_ADDRESS, hashed_key("login-address", client_address))
    device = _device_nonce(device_token, email)
    if device is None:
        account = (LOGIN_PER_ACCOUNT, hashed_key("login-account", normalize_email(email)))
        return LoginRules(checked=[address, account], counted=[address, account])
    # A device that logged in to this account before answers only to its own windows, so that
    # nobody else's failures (against the account, or anyone's from the same network) can
    # lock its owner out. Its own wrong passwords still fill them, so a device token buys
    # no more guesses than an account has; they count for the address too.
    own = (LOGIN_PER_ACCOUNT, hashed_key("login-device", normalize_email(email), device))
    return LoginRules(checked=[own], counted=[own, address])


def login(
    *,
    email: str,
    password: str,
    client_address: str,
    device_token: str | None = None,
    client_label: str | None = None,
    user_agent: str | None = None,
) -> Tokens:
    """Log in with e-mail and password; failures are counted and slowed down."""
    rules = _login_rules(email, client_address, device_token)
    limiter().check(rules.checked, TOO_MANY_LOGINS)
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        limiter().record_failure(rules.counted)
        if user is not None and user.erased_at is None:
            # The account holder sees that someone tried (counted per hour, never per try):
            # written and committed on its own, before the 401, outside any use case.
            activity.record_failed_sign_in(user_id=user.id)
        raise Unauthorized(LOGIN_FAILED)
    return _sign_in(user, password=password, client_label=client_label, user_agent=user_agent)


@use_case
def _sign_in(
    user: User, *, password: str, client_label: str | None, user_agent: str | None
) -> Tokens:
    """Open a session for a person whose password was right (rehashing it if due)."""
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    tokens = _start_session(user, fresh=True, client_label=client_label, user_agent=user_agent)
    activity.record(user_id=user.id, kind="signed_in", session_id=tokens.session_id)
    return tokens


def refresh(*, refresh_token: str) -> Tokens:
    """Exchange a refresh token for a new pair; a token used twice revokes its session.

    Two use cases, not one: the rotation, and (when the token was used before) the
    revocation, which must be kept although the answer is then a 401."""
    try:
        claims = jwts.claims_of(refresh_token)
    except jwts.InvalidToken as exc:
        raise Unauthorized("The refresh token is not valid or has expired.") from exc
    if claims.get("type") != "refresh":
        raise Unauthorized("This is not a refresh token.")
    now = clock.now()
    session = db.session.get(AuthSession, claims.get("sid", ""))
    if session is None or session.revoked or session.user_id != claims["sub"]:
        raise Unauthorized("This session has ended. Please log in again.")
    tokens = _rotate(session, jti=claims["jti"], now=now)
    if tokens is None:
        _revoke_reused(session_id=session.id, now=now)
        raise Unauthorized(
            "This refresh token was already used, so every token of this login was revoked. "
            "Please log in again."
        )
    return tokens


@use_case
def _rotate(session: AuthSession, *, jti: str, now: datetime) -> Tokens | None:
    """Spend the refresh token `jti` for a new pair; None if it was spent already."""
    # Claim the token atomically: of two concurrent uses, exactly one wins.
    claimed = claim(
        db.session,
        sa.update(RefreshToken)
        .where(RefreshToken.jti == jti, RefreshToken.session_id == session.id)
        .where(RefreshToken.used_at.is_(None))
        .values(used_at=now),
    )
    if not claimed:
        return None
    session.last_used_at = now
    return _issue_tokens(session.user, session, fresh=False)


# Its own use case, called before the 401 that reports the reuse: the revocation is kept.
@use_case
def _revoke_reused(*, session_id: str, now: datetime) -> None:
    """Revoke a login one of whose refresh tokens was used twice (a copy may exist)."""
    session = db.session.get(AuthSession, session_id)
    removed = _revoke(session, "refresh_reuse", now)
    _record_ended(session, reason="refresh_reuse", by_session_id=None, devices_removed=removed)


@use_case
def logout(*, session_id: str) -> None:
    """End the session: its access and refresh tokens stop working at once."""
    session = db.session.get(AuthSession, session_id)
    if session is not None and not session.revoked:
        removed = _revoke(session, "logout", clock.now())
        _record_ended(session, reason="signed_out", by_session_id=None, devices_removed=removed)


@use_case
def change_password(
    *, user: User, session_id: str, current_password: str, new_password: str, client_address: str
) -> None:
    """Change the password and revoke every other session of the user."""
    check_own_password(
        user=user,
        password=current_password,
        client_address=client_address,
        field="current_password",
        session_id=session_id,
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
    activity.record(user_id=user.id, kind="password_changed", session_id=session_id)
    for session in others:
        removed = _revoke(session, "password_change", now)
        _record_ended(
            session, reason="password_change", by_session_id=session_id, devices_removed=removed
        )


def check_own_password(
    *, user: User, password: str, client_address: str, field: str, session_id: str | None = None
) -> None:
    """Confirm a signed-in person's password; wrong ones are counted and slowed down."""
    # The caller is signed in, so their guesses are counted per login (or per account when the
    # caller does not say which login), never refused for other people's failures: neither
    # strangers failing logins from the same network nor someone failing with the e-mail can
    # keep the owner from changing the password or erasing the account.
    key = (
        hashed_key("confirm-session", session_id)
        if session_id
        else hashed_key("confirm-account", user.id)
    )
    own = (LOGIN_PER_ACCOUNT, key)
    limiter().check([own], TOO_MANY_LOGINS)
    if not verify_password(user.password_hash, password):
        limiter().record_failure(
            [own, (LOGIN_PER_ADDRESS, hashed_key("login-address", client_address))]
        )
        raise Invalid.field(field, "The password is not right.")


@use_case
def update_profile(
    *,
    user: User,
    changes: dict,
    confirm_fresh_login: Callable[[], None],
    session_id: str | None = None,
) -> User:
    """Change the display name, time zone or discreet notifications."""
    if changes.get("discreet_notifications") is False and user.discreet_notifications:
        # Pushing the notifications' own text widens what leaves the account, like an export:
        # `confirm_fresh_login` raises unless the login is fresh. Turning it on never asks.
        confirm_fresh_login()
    renamed = changes.get("display_name")
    if renamed is not None and renamed != user.display_name:
        # Kept so that erasure can find the old name in texts written with it (a new list:
        # the JSON column notices assignment, not mutation in place).
        former = user.former_display_names or []
        if user.display_name not in former:
            user.former_display_names = [*former, user.display_name]
    changed = [
        f for f in ("display_name", "timezone") if f in changes and changes[f] != getattr(user, f)
    ]
    if changed:
        activity.record(
            user_id=user.id,
            kind="profile_changed",
            session_id=session_id,
            details={"fields": changed},
        )
    discreet = changes.get("discreet_notifications")
    if discreet is not None and discreet != user.discreet_notifications:
        kind = "discreet_notifications_on" if discreet else "discreet_notifications_off"
        activity.record(user_id=user.id, kind=kind, session_id=session_id)
    for field in ("display_name", "timezone", "discreet_notifications"):
        if field in changes:
            setattr(user, field, changes[field])
    return user


# Built once at import, not per request: the statement every request runs, with its SQL and
# its cache key found once (SQLAlchemy memoizes both on the statement object).
_LIVE_SESSION = (
    sa.select(AuthSession, User)
    .join(User, User.id == AuthSession.user_id)
    .where(
        AuthSession.id == sa.bindparam("session_id"),
        AuthSession.user_id == sa.bindparam("user_id"),
    )
)


def live_session(*, user_id: str, session_id: str | None) -> tuple[AuthSession, User] | None:
    """The live session and its user, in one query. None if the session is unknown, revoked
    or expired."""
    if not session_id:
        return None
    row = db.session.execute(_LIVE_SESSION, {"session_id": session_id, "user_id": user_id}).first()
    if row is None:
        return None
    session, user = row
    if session.revoked or session.expires_at <= clock.now():
        return None
    return session, user


# The check every API request makes: the session's columns (no ORM object is built for it) and
# its user.
_CALLER = (
    sa.select(
        AuthSession.id,
        AuthSession.revoked_at,
        AuthSession.expires_at,
        AuthSession.last_used_at,
        User,
    )
    .join(User, User.id == AuthSession.user_id)
    .where(
        AuthSession.id == sa.bindparam("session_id"),
        AuthSession.user_id == sa.bindparam("user_id"),
    )
)


# The same check for a view that only reads: plain columns of the tables (no ORM object at all,
# and no ORM execution), the caller as a `Caller`.
_SESSIONS = AuthSession.__table__
_USERS = User.__table__
_PLAIN_CALLER = (
    sa.select(
        _SESSIONS.c.id,
        _SESSIONS.c.revoked_at,
        _SESSIONS.c.expires_at,
        _SESSIONS.c.last_used_at,
        _USERS.c.id.label("user_id"),
        _USERS.c.role,
    )
    .join(_USERS, _USERS.c.id == _SESSIONS.c.user_id)
    .where(
        _SESSIONS.c.id == sa.bindparam("session_id"),
        _SESSIONS.c.user_id == sa.bindparam("user_id"),
    )
)


class Caller(NamedTuple):
    """Who is calling, as a view that only reads needs them (`plain_caller_statement`): their
    id and role, not the whole account."""

    id: str
    role: str


def plain_caller_statement() -> sa.Select[Any]:
    """The statement of `live_caller(..., plain=True)`: (session id, revoked_at, expires_at,
    last_used_at, user id, role) as plain columns, for a caller to extend as with
    `caller_statement`."""
    return _PLAIN_CALLER


def caller_statement() -> sa.Select[Any]:
    """The statement of `live_caller`: (session id, revoked_at, expires_at, last_used_at, user)
    of `:session_id` and `:user_id`. A caller may add what it needs in the same round trip
    (more columns or entities, joined on `User.id`) and keep the result to pass to
    `live_caller` on every request."""
    return _CALLER


def live_caller(
    *,
    user_id: str,
    session_id: str | None,
    statement: sa.Select[Any] | None = None,
    plain: bool = False,
    params: dict[str, Any] | None = None,
) -> tuple[Any, ...] | None:
    """The row of `statement` (made from `caller_statement`, or `plain_caller_statement` if
    `plain`; with `params` for what it added) for a live session, in one query: the check
    every request makes. None if the session is unknown, revoked or expired."""
    if not session_id:
        return None
    params = {**(params or {}), "session_id": session_id, "user_id": user_id}
    if plain:  # no ORM objects: Core, on the connection of the view that only reads
        row = (
            read_connection()
            .execute(_PLAIN_CALLER if statement is None else statement, params)
            .first()
        )
    else:
        # unique(): what a caller adds may load a collection by a join (a couple's members)
        row = (
            db.session.execute(_CALLER if statement is None else statement, params).unique().first()
        )
    return live_row(row)


def live_row(row: Sequence[Any] | None) -> tuple[Any, ...] | None:
    """A row that begins as `caller_statement`'s or `plain_caller_statement`'s (session id,
    revoked_at, expires_at, ...) as a tuple, if its session is live; else None."""
    if row is None:
        return None
    row = tuple(row)
    if row[1] is not None or row[2] <= clock.now():  # revoked, or expired
        return None
    return row


# How stale a session's `last_used_at` may be: it is written at most this often, so a
# session's requests do not each write (the check above only reads).
TOUCH_EVERY = timedelta(minutes=1)


def needs_touch(last_used_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether a session last used then should be noted as used now (a minute has passed)."""
    return last_used_at is None or last_used_at <= (now or clock.now()) - TOUCH_EVERY


@use_case
def touch_session(*, session_id: str) -> None:
    """Note that the session was used now: one conditional UPDATE, so of many concurrent
    requests at most one writes, and a session touched within the minute is left alone."""
    now = clock.now()
    db.session.execute(
        sa.update(AuthSession)
        .where(
            AuthSession.id == session_id,
            AuthSession.revoked_at.is_(None),
            sa.or_(
                AuthSession.last_used_at.is_(None), AuthSession.last_used_at <= now - TOUCH_EVERY
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def live_sessions(*, user: User, limit: int, cursor: str | None) -> Page[AuthSession]:
    """A page of the person's live sign-ins, newest first."""
    return keyset_page(
        sa.select(AuthSession).where(
            AuthSession.user_id == user.id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > clock.now(),
        ),
        moment_column=AuthSession.created_at,
        id_column=AuthSession.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def is_fresh(session: AuthSession, *, now: datetime | None = None) -> bool:
    """Whether the session holds a fresh access token (one that can export, add a push device
    or turn discreet notifications off): only a password login issues one, for 5 minutes."""
    return (now or clock.now()) < session.created_at + timedelta(minutes=FRESH_LOGIN_MINUTES)


def session_of(user: User, session_id: str) -> AuthSession:
    """One of the person's sign-ins, live or ended but not yet purged; 404 otherwise."""
    session = db.session.get(AuthSession, session_id)
    if session is None or session.user_id != user.id:
        raise NotFound("There is no session with this id that you can see.")
    return session


@use_case
def end_session(*, user: User, session: AuthSession, by_session_id: str) -> None:
    """End one of the person's sign-ins: its tokens stop at its next request, its push
    devices go. Protective, so no fresh login; ending an ended one changes nothing."""
    if session.user_id != user.id:
        raise NotFound("There is no session with this id that you can see.")
    if not session.revoked:
        removed = _revoke(session, "ended_by_owner", clock.now())
        reason = "ended_here" if session.id == by_session_id else "ended"
        _record_ended(session, reason=reason, by_session_id=by_session_id, devices_removed=removed)


@use_case
def end_other_sessions(*, user: User, by_session_id: str) -> int:
    """End every live sign-in of the person except the caller's; returns how many ended."""
    now = clock.now()
    others = db.session.scalars(
        sa.select(AuthSession).where(
            AuthSession.user_id == user.id,
            AuthSession.id != by_session_id,
            AuthSession.revoked_at.is_(None),
        )
    ).all()
    for session in others:
        removed = _revoke(session, "ended_by_owner", now)
        _record_ended(session, reason="ended", by_session_id=by_session_id, devices_removed=removed)
    return len(others)


@use_case
def purge_expired_sessions(*, now: datetime | None = None) -> int:
    """Delete sessions (and their refresh tokens) whose last refresh token has expired."""
    now = now or clock.now()
    expired = sa.select(AuthSession.id).where(AuthSession.expires_at <= now)
    db.session.execute(sa.delete(RefreshToken).where(RefreshToken.session_id.in_(expired)))
    return db.session.execute(sa.delete(AuthSession).where(AuthSession.expires_at <= now)).rowcount


def _start_session(
    user: User, *, fresh: bool, client_label: str | None, user_agent: str | None
) -> Tokens:
    now = clock.now()
    session = AuthSession(
        user=user,
        created_at=now,
        expires_at=now,
        last_used_at=now,
        client_description=describe_client(label=client_label, user_agent=user_agent),
    )
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
    access = jwts.access_token(
        user_id=user.id,
        session_id=session.id,
        role=user.role,
        fresh_for=timedelta(minutes=FRESH_LOGIN_MINUTES) if fresh else None,
    )
    refresh_token = jwts.refresh_token(user_id=user.id, session_id=session.id, jti=jti)
    return Tokens(
        user=user,
        access_token=access,
        refresh_token=refresh_token,
        device_token=device_token,
        session_id=session.id,
    )


def _revoke(session: AuthSession, reason: str, now: datetime) -> int:
    """Revoke the session; returns how many push devices went with it."""
    session.revoked_at = now
    session.revoked_reason = reason
    # A phone that logged out (or was signed out by a password change, or ended by its
    # owner from another device) gets no more pushes: notifications forgets its devices.
    return sum(hook(session.id) for hook in _session_ended_hooks)


def _record_ended(
    session: AuthSession, *, reason: str, by_session_id: str | None, devices_removed: int
) -> None:
    """Add "this sign-in ended, and why" to the account's activity."""
    activity.record(
        user_id=session.user_id,
        kind="session_ended",
        session_id=by_session_id,
        details={
            "ended_session_id": session.id,
            "ended_session": session.client_description or UNKNOWN_DEVICE,
            "reason": reason,
            "devices_removed": devices_removed,
        },
    )


def _device_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(setting("SECRET_KEY"), salt="trustline-login-device")


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


def display_name(user_id: str | None, *, missing: str) -> str:
    """A person's display name, or `missing` when there is nobody (erased, or no id)."""
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else missing


def display_names(user_ids: Iterable[str | None]) -> dict[str, str]:
    """Display names of these people in one query (a list's names, whatever its length)."""
    wanted = {user_id for user_id in user_ids if user_id}
    if not wanted:
        return {}
    rows = db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}
