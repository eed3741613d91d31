"""Authorization in one place: the caller's couple, and objects of the caller's couples.

Every couple-scoped route resolves what it touches through these decorators, outermost, so
that a caller who may not see a thing gets 404 before anything else (even before the body is
validated): ids can't be probed, and nothing about another couple leaks through an error.
Couples are partners' alone: a counselor gets 404 here even from a couple they are linked to
(they see it through `counseling.access`, within the scope the couple chose).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_jwt_extended import verify_jwt_in_request

from backend.accounts.access import PARTNER, current_user, require_role
from backend.accounts.models import User
from backend.couples.models import Couple, CoupleMember
from backend.errors import Conflict, NotFound
from backend.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
NO_COUPLE = "You are not in a couple yet. Pair with your partner first."
ENDED = (
    "This couple has ended, so nothing in it can be changed any more. "
    "What was shared stays readable."
)


def couple_of(user: User) -> Couple | None:
    """The caller's active couple, else the one they were in most recently (read-only)."""
    return db.session.scalar(
        sa.select(Couple)
        .join(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(CoupleMember.user_id == user.id)
        .order_by(CoupleMember.ended_at.is_not(None), CoupleMember.joined_at.desc())
        .limit(1)
    )


def active_couple_of(user_id: str) -> Couple | None:
    """The user's active couple, if any."""
    return db.session.scalar(
        sa.select(Couple)
        .join(CoupleMember, CoupleMember.couple_id == Couple.id)
        .where(CoupleMember.user_id == user_id, CoupleMember.ended_at.is_(None))
    )


def caller_couple(user: User, *, write: bool = False) -> Couple:
    """The caller's couple; 404 if none, 409 if `write` and it has ended."""
    couple = couple_of(user)
    if couple is None:
        raise NotFound(NO_COUPLE)
    if write and not couple.is_active:
        raise Conflict(ENDED)
    return couple


def require_active(couple: Couple) -> None:
    """409 if the couple has ended."""
    if not couple.is_active:
        raise Conflict(ENDED)


def object_of_caller(model: type, object_id: str, user: User, *, write: bool = False) -> Any:
    """An object (with a `couple_id`) of a couple the caller is or was in; else 404."""
    obj = db.session.scalar(
        sa.select(model)
        .join(CoupleMember, CoupleMember.couple_id == model.couple_id)
        .where(model.id == object_id, CoupleMember.user_id == user.id)
    )
    if obj is None:
        raise NotFound("There is nothing with this id that you can see.")
    if write:
        require_active(db.session.get(Couple, obj.couple_id))
    return obj


def with_couple(*, write: bool = False, fresh: bool = False) -> Callable[[F], F]:
    """Decorate a view: authenticate, then pass the caller's couple as `couple`.

    `fresh`: the access token must come from a password login within the last 5 minutes,
    for actions that widen who can see the couple's data.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request(fresh=fresh)
            user = require_role(current_user(), PARTNER)
            kwargs["couple"] = caller_couple(user, write=write)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def with_couple_object(
    param: str, model: type, *, write: bool = False, fresh: bool = False
) -> Callable[[F], F]:
    """Decorate a view: authenticate, then swap the id in `param` for the caller's object."""
    name = param.removesuffix("_id")

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request(fresh=fresh)
            user = require_role(current_user(), PARTNER)
            kwargs[name] = object_of_caller(model, kwargs.pop(param), user, write=write)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
