"""Who a response is for: the viewer that every viewer-aware schema reads.

The access decorators (`backend.access`) set it once per request, around the view and the
dump of its answer; the export sets it around its own dumps. A schema asks `viewer()` what
this person may see (their own answers, a partner's shared ones, the safety notice for what
they just wrote) instead of a route or service building a second shape by hand.
"""

from __future__ import annotations

from typing import Any, TypedDict

from marshmallow.experimental.context import Context

# The viewer is an accounts User; the kernel names no domain's model, so it is typed loosely.
User = Any


class Viewing(TypedDict, total=False):
    """What a dump knows about its reader: who they are, the sign-in asking (`session_id`:
    "this device" in their sessions list), and what they just wrote (for the safety notice of
    a write's answer)."""

    user: User
    session_id: str | None
    wrote: list[str]
    flagged: list[str]
    offer_check: bool
    notice: dict[str, Any] | None
    # The viewer's own safety check, read by a write's route before its use case commits.
    safety_check: Any
    # Names found once for a whole response (a list's counselors, in one query).
    counselor_names: dict[str, str]


ViewerContext = Context[Viewing]


def viewing(user: User, **extra: Any) -> ViewerContext:
    """A context manager setting `user` as the viewer of every dump inside it."""
    return ViewerContext(Viewing(user=user, **extra))  # type: ignore[typeddict-item]


def viewer() -> User:
    """The viewer of the dump in progress; a LookupError outside `viewing` (a schema that
    needs a viewer must never be dumped for nobody)."""
    return ViewerContext.get()["user"]


def current_viewing() -> Viewing:
    """Everything set for the dump in progress (empty outside `viewing`)."""
    return ViewerContext.get({})


def note_written(
    *texts: str | None, flagged: list[str] | None = None, offer_check: bool = False
) -> None:
    """Record, for the answer's safety notice, what the viewer just wrote in this request
    (`flagged`: messages the content attaches to an answer they gave; `offer_check`: the
    answer opens a conversation or agreement, so the safety check is offered)."""
    context = ViewerContext.get({})
    if "user" not in context:
        raise LookupError("note_written outside a viewer's request")
    context.setdefault("wrote", []).extend(t for t in texts if t)
    context.setdefault("flagged", []).extend(flagged or ())
    context["offer_check"] = context.get("offer_check", False) or offer_check
    context.pop("notice", None)


def note_safety_check(check: Any) -> None:
    """Record the viewer's safety check (None: they have not taken it), read by a write's
    route inside its use case's transaction: the answer's notice needs it, and read during
    the dump, after the commit, it would take a second transaction of its own."""
    context = ViewerContext.get({})
    if "user" not in context:
        raise LookupError("note_safety_check outside a viewer's request")
    context["safety_check"] = check
