"""Signing in to the console: a server-side login session behind a signed, HttpOnly cookie.

A console sign-in is an ordinary login of the accounts service (the same password rules,
failure limits and lockout protections as POST /auth/login; it shows in the person's sessions
list as "Console in <browser>"). The cookie holds only the login's opaque id, its user's id
and the CSRF secret, signed with the app's key. The login ends after 30 idle minutes, at
logout, and with every other login of the person (password change, erasure, "end other
sessions"), because every request checks it against the database like an access token.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, Request, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response

from backend import clock
from backend.access import COUNSELOR
from backend.accounts import service as accounts
from backend.accounts.clients import describe_client
from backend.viewer import viewing

if TYPE_CHECKING:
    from backend.accounts.service import User

F = TypeVar("F", bound=Callable[..., Any])
COOKIE = "trustline_console"
# The login's device token (POST /auth/login's `device_token`): a browser that signed in to
# this account before keeps its own failure allowance, so nobody failing with the counselor's
# e-mail elsewhere can lock them out of their own browser.
DEVICE_COOKIE = "trustline_console_device"
DEVICE_COOKIE_DAYS = 365
PATH = "/console"
IDLE = timedelta(minutes=30)
PARTNERS_ELSEWHERE = (
    "This console is for counselors. As a partner, you'll find everything in the Trustline "
    "app; nothing was changed in your account."
)
SIGNED_OUT_IDLE = "You were signed out after 30 minutes without activity. Please sign in again."
SIGNED_OUT_ENDED = "Your sign-in has ended. Please sign in again."


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, kept to the console's path and hardened.

    Only console pages read or write it; an API request never carries it (its path is
    /console), so API responses are unchanged.
    """

    salt = "trustline-console-session"

    def open_session(self, app: Flask, request: Request) -> Any:
        """The console's session on its own pages; elsewhere none (Flask's null session, which
        refuses writes): an API request never reads a cookie or builds a signer for one."""
        if request.path == PATH or request.path.startswith(PATH + "/"):
            return super().open_session(app, request)
        return None

    def get_cookie_name(self, app: Flask) -> str:
        """One name for the console's cookie, whatever the app's SESSION_COOKIE_NAME."""
        return COOKIE

    def get_cookie_path(self, app: Flask) -> str:
        """The console alone."""
        return PATH

    def get_cookie_domain(self, app: Flask) -> str | None:
        """Host-only: no subdomain receives it."""
        return None

    def get_cookie_httponly(self, app: Flask) -> bool:
        """Never readable from a page's script."""
        return True

    def get_cookie_secure(self, app: Flask) -> bool:
        """`Secure` whenever the request came over HTTPS (X-Forwarded-Proto behind a trusted
        proxy: create_app installs ProxyFix), so a browser never sends it in clear text."""
        return request.is_secure

    def get_cookie_samesite(self, app: Flask) -> str:
        """Not sent on cross-site posts; a link to the console from a mail still works."""
        return "Lax"


def client_label(req: Request) -> str:
    """How this login appears in the person's sessions list: "Console in Chrome on Mac"."""
    return f"Console in {describe_client(label=None, user_agent=req.user_agent.string)}"[:80]


def sign_in(*, email: str, password: str) -> User:
    """Log in through the accounts service and start the console's session (counselors only).

    Raises the service's errors (401 wrong e-mail or password, 429 too many failures, 503
    limiter unreachable); a partner's correct password ends the login it opened at once and
    raises PartnerAccount.
    """
    tokens = accounts.login(
        email=email,
        password=password,
        client_address=request.remote_addr or "-",
        device_token=request.cookies.get(DEVICE_COOKIE),
        client_label=client_label(request),
        user_agent=request.user_agent.string,
    )
    if tokens.user.role != COUNSELOR:
        accounts.logout(session_id=tokens.session_id or "")
        raise PartnerAccount(PARTNERS_ELSEWHERE)
    g.console_device_token = tokens.device_token
    # A fresh cookie for a fresh login (and a fresh CSRF secret): nothing carries over.
    session.clear()
    session["sid"] = tokens.session_id
    session["uid"] = tokens.user.id
    return tokens.user


class PartnerAccount(Exception):
    """A partner signed in with the right password: the console is for counselors."""


def sign_out() -> None:
    """End the console's login (and with it the cookie)."""
    sid = session.get("sid")
    if sid:
        accounts.logout(session_id=sid)
    session.clear()


def signed_in_counselor() -> User | None:
    """The counselor of this request's live console login, or None (and why, flashed)."""
    sid, uid = session.get("sid"), session.get("uid")
    if not sid or not uid:
        return None
    found = accounts.live_session(user_id=uid, session_id=sid)
    if found is None:
        session.clear()
        flash(SIGNED_OUT_ENDED)
        return None
    login, user = found
    now = clock.now()
    if (login.last_used_at or login.created_at) <= now - IDLE:
        accounts.logout(session_id=sid)
        session.clear()
        flash(SIGNED_OUT_IDLE)
        return None
    if user.role != COUNSELOR:  # pragma: no cover - sign_in lets only counselors in
        session.clear()
        return None
    if accounts.needs_touch(login.last_used_at, now=now):
        accounts.touch_session(session_id=sid)
    return user


def counselor_required(view: F) -> F:
    """Decorate a console page: the signed-in counselor as `me`, or off to the sign-in page.

    The page runs with the counselor as the viewer, so the API's schemas it renders show
    exactly what they show this counselor through the API."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        me = signed_in_counselor()
        if me is None:
            return redirect(url_for("console.sign_in_page"))
        g.console_user = me
        with viewing(me):
            return view(*args, me=me, **kwargs)

    return wrapper  # type: ignore[return-value]


def remember_device(response: Response) -> Response:
    """Keep the login's device token in its own long-lived cookie (HttpOnly, console only)."""
    token = g.pop("console_device_token", None)
    if token:
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=int(timedelta(days=DEVICE_COOKIE_DAYS).total_seconds()),
            path=PATH,
            secure=request.is_secure,
            httponly=True,
            samesite="Strict",
        )
    return response
