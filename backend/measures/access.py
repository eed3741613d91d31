"""Who may touch which measure object: the one place these decisions live.

A response is its author's alone: anyone else (their partner, any counselor) gets 404, the
same as for an id that does not exist, so nobody can learn that a response exists. A
counselor's questionnaire and assignment are theirs; an assignment also needs the link to
its couple to be active.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask_jwt_extended import verify_jwt_in_request

from backend.accounts.access import COUNSELOR, PARTNER, current_user, require_role
from backend.measures import service

F = TypeVar("F", bound=Callable[..., Any])


def with_own_response(view: F) -> F:
    """Decorate a partner's view: swap `response_id` for the caller's own response."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        user = require_role(current_user(), PARTNER)
        kwargs["response"] = service.response_of(kwargs.pop("response_id"), user)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def with_own_measure(view: F) -> F:
    """Decorate a counselor's view: swap `measure_id` for a questionnaire they wrote."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        counselor = require_role(current_user(), COUNSELOR)
        kwargs["measure"] = service.own_measure(kwargs.pop("measure_id"), counselor)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def with_own_assignment(view: F) -> F:
    """Decorate a counselor's view: swap `assignment_id` for one they made, still linked."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verify_jwt_in_request()
        counselor = require_role(current_user(), COUNSELOR)
        kwargs["assignment"] = service.assignment_of(kwargs.pop("assignment_id"), counselor)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
