"""Who may see what of a couple: the counselor side of scope by membership.

A counselor sees a couple only through an active link both partners consented to, and only
within its scope. Anything else is 404, as for everyone (ids can't be probed); so is a
counselor's route called by a partner (the role check is `accounts.access.require_role`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask_jwt_extended import verify_jwt_in_request

from backend.accounts.access import COUNSELOR, current_user, require_role
from backend.accounts.models import User
from backend.counseling.models import CounselorLink
from backend.couples.models import Couple, CoupleMember
from backend.errors import NotFound
from backend.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
NOT_LINKED = "There is no couple with this id that you are linked to."


def active_link(counselor: User, couple_id: str) -> CounselorLink:
    """The counselor's active link to this couple; 404 if there is none."""
    link = db.session.scalar(
        sa.select(CounselorLink).where(
            CounselorLink.couple_id == couple_id,
            CounselorLink.counselor_id == counselor.id,
            CounselorLink.status == "active",
        )
    )
    if link is None:
        raise NotFound(NOT_LINKED)
    return link


def linked_couple(counselor: User, couple_id: str) -> tuple[Couple, CounselorLink]:
    """The couple and the counselor's active link to it; 404 if there is none."""
    link = active_link(counselor, couple_id)
    return db.session.get(Couple, link.couple_id), link


def with_linked_couple(view: F) -> F:
    """Decorate a counselor view: swap `couple_id` for (couple, link) of an active link."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        counselor = require_role(current_user(), COUNSELOR)
        kwargs["couple"], kwargs["link"] = linked_couple(counselor, kwargs.pop("couple_id"))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def link_of_caller(link_id: str, user: User) -> CounselorLink:
    """A link the caller is part of: a partner of its couple, or its counselor; else 404."""
    link = db.session.get(CounselorLink, link_id)
    if link is None:
        raise NotFound("There is no link with this id that you can see.")
    if link.counselor_id == user.id:
        return link
    member = db.session.scalar(
        sa.select(CoupleMember.id).where(
            CoupleMember.couple_id == link.couple_id, CoupleMember.user_id == user.id
        )
    )
    if member is None:
        raise NotFound("There is no link with this id that you can see.")
    return link


def with_link(*, role: str | None = None, fresh: bool = False) -> Callable[[F], F]:
    """Decorate a view: swap `link_id` for a link the caller is part of (and has `role` for)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request(fresh=fresh)
            user = require_role(current_user(), role)
            kwargs["link"] = link_of_caller(kwargs.pop("link_id"), user)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
