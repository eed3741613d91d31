"""Authorization in one place: every decorator that decides who may call a route and on what.

Every route that needs a login wears exactly one of these, outermost, so that a caller who may
not see a thing gets 404 before anything else (even before the body is validated): ids can't
be probed, and nothing about another couple or person leaks through an error. Each decorator
authenticates (`fresh`: a password login within 5 minutes, for actions that widen who sees
what), checks the caller's role (the other role's routes answer 404, as for anything not
theirs), swaps the ids in the URL for the objects this caller may reach, and sets the caller
as the viewer of the answer (`backend.viewer`), so the response schema decides what they see.

The decisions themselves are plain queries in the services (`couples.service.caller_couple`,
`counseling.service.linked_couple`, `journal.service.entry_of`, ...): no service imports
Flask. `tests/test_authorization.py` walks every route of the app through these.

- `role_required(role)`: any logged-in caller of the role (None: both roles).
- `with_couple()` / `with_couple_object(param, model)`: a partner's couple, and objects of a
  couple they are or were in. Couples are partners' alone: a counselor gets 404 here even
  from a couple they are linked to (they see it through `with_linked_couple`).
- `with_linked_couple` / `with_link(...)`: a counselor's couple through an active link both
  partners consented to, within its scope; a link its partner or counselor is part of.
- `with_own(param, find)`: a thing one person owns (a journal entry, a device, a
  questionnaire response): anyone else, partner or counselor, gets 404.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask_jwt_extended import current_user as _jwt_current_user
from flask_jwt_extended import get_jwt
from sqlalchemy.exc import SQLAlchemyError

from backend.accounts import service as accounts
from backend.accounts.access import accept_caller, authenticate, verified_token
from backend.accounts.models import User
from backend.counseling import service as counseling
from backend.couples import service as couples
from backend.errors import NotFound
from backend.journal import service as journal
from backend.measures import service as measures
from backend.notifications import service as notifications
from backend.pagination import Page
from backend.safety import service as safety
from backend.timeline import service as timeline
from backend.unit_of_work import reading
from backend.viewer import viewing

F = TypeVar("F", bound=Callable[..., Any])
PARTNER = "partner"
COUNSELOR = "counselor"
# A route of the other role is, for this caller, a route that does not exist: 404, as for
# anything not theirs. Naming the caller's own role tells them nothing they don't know.
NOT_FOR_ROLE = {
    PARTNER: "There is nothing here for a counselor's account: this is for partners.",
    COUNSELOR: "There is nothing here for a partner's account: this is for counselors.",
}
# Swaps what the URL names for what this caller may reach (404 otherwise), in the view's kwargs;
# after the caller, it is given whatever the session check's statement added (`also`).
Resolve = Callable[..., None]
# The session check and the caller's couple in one round trip (built once, at import).
_WITH_COUPLE = couples.with_caller_couple(accounts.caller_statement(), User.id)
# ... and for the timeline, which reads only the couple's rows: its id and status, no ORM
# objects (`with_couple_timeline`).
_WITH_COUPLE_REF = couples.with_caller_couple(
    accounts.plain_caller_statement(), User.__table__.c.id, whole=False
)


def current_user() -> User:
    """The authenticated caller (inside a view wearing one of this module's decorators)."""
    return _jwt_current_user  # type: ignore[return-value]


def current_session_id() -> str:
    """The login session of the caller's access token."""
    return str(get_jwt().get("sid", ""))


def require_role(user: User, role: str | None) -> User:
    """The user, if `role` is None or is theirs; else 404."""
    if role is not None and user.role != role:
        raise NotFound(NOT_FOR_ROLE[role])
    return user


def guarded(
    role: str | None,
    resolve: Resolve | None = None,
    *,
    fresh: bool = False,
    also: Any = None,
    params: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Callable[[F], F]:
    """The decorator every other one is made of: authenticate, check the role, resolve what
    the URL names, and run the view (and the dump of its answer) with the caller as viewer.
    `also`: the session check's statement with more found in the same query
    (`accounts.caller_statement()` extended), with `params(view's kwargs)` bound;
    `resolve` receives what it adds."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = params(kwargs) if params is not None else None
            user, *found = authenticate(fresh=fresh, statement=also, params=bound)
            require_role(user, role)
            if resolve is not None:
                resolve(user, kwargs, *found)
            with viewing(user, session_id=current_session_id()):
                return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def role_required(role: str | None, *, fresh: bool = False) -> Callable[[F], F]:
    """Decorate a view: authenticate, then 404 unless the caller has `role` (None: both)."""
    return guarded(role, fresh=fresh)


def with_couple(*, write: bool = False, fresh: bool = False) -> Callable[[F], F]:
    """Decorate a partner's view: pass the caller's couple as `couple` (404 if none; 409 if
    `write` and it has ended), found in the same query as the session check."""

    def resolve(user: User, kwargs: dict[str, Any], couple: Any) -> None:
        kwargs["couple"] = couples.require_couple(couple, write=write)

    return guarded(PARTNER, resolve, fresh=fresh, also=_WITH_COUPLE)


# The session check, the caller's couple and a page of its timeline in one statement.
_TIMELINE_PAGE = timeline.events_page_after(
    _WITH_COUPLE_REF, _WITH_COUPLE_REF.selected_columns.couple_id
)


def with_couple_timeline(view: F) -> F:
    """Decorate a partner's view of a page of their couple's timeline: the view is given
    `read_page(limit=, cursor=, kinds=)`, which checks the session, finds the caller's
    couple and reads the page in one statement (one round trip where `with_couple` and the
    page would make two), then decides from that row exactly as `with_couple` does (401, the
    role's 404, no couple's 404) before a row of the page is returned.

    The token itself is checked first, as every decorator here does. The view must call
    `read_page` before anything else it does; whatever fails before the caller is accepted
    (the query refused by the view's schema, a cursor that does not decode) has the session
    and the couple checked the usual way first, so the caller still hears 401 or 404 before a
    word about the query. A database error goes on as it is (to the retry or the 503). A view
    that returns without calling `read_page` is a programming error: its answer is refused."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reading(), contextlib.ExitStack() as stack:
            header, claims = verified_token()
            checked: list[bool] = []  # read_page accepted the caller

            def read_page(*, limit: int, cursor: str | None, kinds: Any = None) -> Page[Any]:
                if checked:
                    raise RuntimeError("read_page runs once per request")
                head, page = None, None
                if claims.get("sid") and claims["type"] == "access":
                    params = {"session_id": claims["sid"], "user_id": claims["sub"]}
                    head, page = timeline.list_events_after(
                        _TIMELINE_PAGE, params, limit=limit, cursor=cursor, kinds=kinds
                    )
                user, couple_id, status = accept_caller(
                    header, claims, accounts.live_row(head), plain=True
                )
                require_role(user, PARTNER)
                couples.require_couple(couples.couple_ref(couple_id, status))
                stack.enter_context(viewing(user, session_id=current_session_id()))
                checked.append(True)
                return page if page is not None else Page(items=[], next_cursor=None)

            try:
                answer = view(*args, read_page=read_page, **kwargs)
            except SQLAlchemyError:
                raise  # the database failed: to the retry or the 503, as it is
            except Exception:
                if not checked:  # refused before the check: the check's answer comes first
                    user, couple_id, status = authenticate(statement=_WITH_COUPLE_REF, plain=True)
                    require_role(user, PARTNER)
                    couples.require_couple(couples.couple_ref(couple_id, status))
                raise
            if not checked:
                raise RuntimeError(f"{view.__qualname__} answered without calling read_page")
            return answer

    return wrapper  # type: ignore[return-value]


def with_couple_object(
    param: str,
    model: type,
    *,
    write: bool = False,
    fresh: bool = False,
    safety_check: bool = False,
) -> Callable[[F], F]:
    """Decorate a partner's view: swap the id in `param` for that object (a `model` with a
    `couple_id`) of a couple the caller is or was in, found in the same query as the session
    check (404 if none; 409 if `write` and its couple has ended). `safety_check`: pass the
    caller's own safety check (or None) as `safety_check`, from the same query, for a view
    whose answer may carry its author's safety notice."""
    name = param.removesuffix("_id")
    also = couples.with_caller_object(accounts.caller_statement(), model, write=write)
    if safety_check:
        also = safety.with_caller_check(also, User.id)

    def resolve(user: User, kwargs: dict[str, Any], obj: Any, *more: Any) -> None:
        del kwargs[param]
        couple = more[0] if write else None
        kwargs[name] = couples.require_found(obj, couple, write=write)
        if safety_check:
            kwargs["safety_check"] = more[-1]

    return guarded(
        PARTNER, resolve, fresh=fresh, also=also, params=lambda kwargs: {"object_id": kwargs[param]}
    )


def _linked(user: User, kwargs: dict[str, Any]) -> None:
    kwargs["couple"], kwargs["link"] = counseling.linked_couple(user, kwargs.pop("couple_id"))


# A counselor's view of a couple: swap `couple_id` for (couple, link) of an active link.
with_linked_couple: Callable[[F], F] = guarded(COUNSELOR, _linked)


def with_link(*, role: str | None = None, fresh: bool = False) -> Callable[[F], F]:
    """Decorate a view: swap `link_id` for a link the caller is part of (and has `role` for)."""

    def resolve(user: User, kwargs: dict[str, Any]) -> None:
        kwargs["link"] = counseling.link_of_caller(kwargs.pop("link_id"), user)

    return guarded(role, resolve, fresh=fresh)


def with_own(
    param: str, find: Callable[[str, User], Any], *, role: str | None = PARTNER
) -> Callable[[F], F]:
    """Decorate a view: swap the id in `param` for the thing `find(id, caller)` returns, a
    thing the caller alone owns (`find` raises 404 for anyone else)."""
    name = param.removesuffix("_id")

    def resolve(user: User, kwargs: dict[str, Any]) -> None:
        kwargs[name] = find(kwargs.pop(param), user)

    return guarded(role, resolve)


# Things one person owns.
with_own_entry = with_own("entry_id", lambda entry_id, user: journal.entry_of(user, entry_id))
with_own_device = with_own(
    "device_id", lambda device_id, user: notifications.device_of(user.id, device_id), role=None
)
with_own_response = with_own("response_id", measures.response_of)
with_own_measure = with_own("measure_id", measures.own_measure, role=COUNSELOR)
with_own_assignment = with_own("assignment_id", measures.assignment_of, role=COUNSELOR)
