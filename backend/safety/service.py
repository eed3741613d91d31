"""Safety: help one tap away, a private check, and a quiet notice where words signal fear.

Nothing here changes anything the partner can observe: no status, no timing, no
notification. A notice is added to responses to its subject alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from backend import clock
from backend.config import setting
from backend.errors import Invalid
from backend.extensions import db
from backend.safety import phrases
from backend.safety.models import SafetyCheck
from backend.unit_of_work import use_case

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "safety.yaml"
ANSWERS = ("yes", "no", "unsure")


@cache
def _content() -> dict[str, Any]:
    return yaml.safe_load(CONTENT_FILE.read_text(encoding="utf-8"))


@cache
def _override(path: str) -> dict[str, Any]:
    text = Path(path).read_text(encoding="utf-8")
    data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    return data if isinstance(data, dict) else {"resources": data}


def check_override(path: str) -> None:
    """Refuse to start with a resources file that can't be served (a 500 on every notice)."""
    try:
        data = _override(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"TRUSTLINE_SAFETY_RESOURCES: cannot read {path}: {exc}") from exc
    resources = data.get("resources")
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and r.get("name") and r.get("key") for r in resources
    ):
        raise ValueError(
            f"TRUSTLINE_SAFETY_RESOURCES: {path} must hold a list of resources, each with a "
            "key and a name."
        )


def resources() -> dict[str, Any]:
    """The help lines and guidance (the operator's file, when configured, replaces them)."""
    content = dict(_content())
    path = setting("TRUSTLINE_SAFETY_RESOURCES", None)
    if path:
        override = _override(path)
        content = {
            **content,
            **{k: v for k, v in override.items() if k in ("resources", "note", "quiet_exit")},
        }
    return {
        "note": " ".join(content["note"].split()),
        "quiet_exit": " ".join(content["quiet_exit"].split()),
        "resources": content["resources"],
    }


def questions() -> dict[str, Any]:
    """The safety check's introduction and questions."""
    check = _content()["check"]
    return {
        "intro": " ".join(check["intro"].split()),
        "questions": [
            {"key": q["key"], "text": q["text"], "answers": list(ANSWERS)}
            for q in check["questions"]
        ],
    }


def _question_keys() -> set[str]:
    return {q["key"] for q in _content()["check"]["questions"]}


def is_current(check: SafetyCheck) -> bool:
    """Whether the check answered every question asked today (questions are added over time)."""
    return _question_keys() <= set(check.answers)


def result_text(check: SafetyCheck) -> str:
    """What the check's answers show, in words for its author alone."""
    content = _content()["check"]
    if not check.concern:
        return " ".join(content["result_clear"].split())
    parts = [content["result_concern"]]
    # A question may carry words of its own for someone who answered yes or unsure to it.
    parts += [
        q["if_yes"]
        for q in content["questions"]
        if q.get("if_yes") and check.answers.get(q["key"]) in ("yes", "unsure")
    ]
    return " ".join(" ".join(parts).split())


def signals_harm(text: str) -> bool:
    """Whether free text speaks of fear, threats, violence, control or monitoring."""
    return phrases.signal_category(text) is not None


def check_of(user: Any) -> SafetyCheck | None:
    """The person's own safety check, if they did it."""
    return db.session.get(SafetyCheck, user.id)


def with_caller_check(statement: sa.Select[Any], user_id: Any) -> sa.Select[Any]:
    """`statement` (the session check's, `accounts.caller_statement()`) with the caller's own
    safety check added at its end (None if they did none): what `check_of` finds, in the same
    round trip (`backend.access.with_couple_object`)."""
    return statement.add_columns(SafetyCheck).outerjoin(SafetyCheck, SafetyCheck.user_id == user_id)


@use_case
def save_check(*, user: Any, answers: dict[str, str]) -> SafetyCheck:
    """Store the person's answers; a yes (or unsure) to any question signals a concern."""
    keys = _question_keys()
    unknown = [k for k in answers if k not in keys]
    if unknown:
        raise Invalid.field("answers", "Answer only the questions of GET /me/safety-check.")
    missing = sorted(keys - set(answers))
    if missing:
        raise Invalid.field(f"answers.{missing[0]}", "Answer yes, no or unsure.")
    check = check_of(user) or SafetyCheck(user_id=user.id)
    check.answers = dict(answers)
    check.concern = any(value in ("yes", "unsure") for value in answers.values())
    check.completed_at = clock.now()
    db.session.add(check)
    return check


# `notice_for` without a check given: it reads the person's own.
_UNREAD: Any = object()


def notice_for(
    user: Any,
    *,
    texts: Iterable[str] = (),
    flagged: Iterable[str] = (),
    offer_check: bool = False,
    check: SafetyCheck | None = _UNREAD,
) -> dict[str, Any] | None:
    """The notice for this person's own response, or None.

    Given when their safety check signals fear or coercion, when words they just wrote speak
    of fear, threats, violence, control or monitoring, when an answer they gave is one its
    content marks (`flagged`: the content's own messages, e.g. a check-in prompt's answer that
    openness feels like being watched), or (with `offer_check`) before a conversation or
    agreement to someone who has not taken the check as it stands today. `check`: their
    safety check, when it was read already (None: they have not taken it).
    """
    flagged = [message for message in flagged if message]
    check = check_of(user) if check is _UNREAD else check
    help_ = resources()
    if check is not None and check.concern:
        reason = "check"
        message = result_text(check)
    elif any(signals_harm(text) for text in texts if text):
        reason = "words"
        message = (
            "Some of what you wrote sounds like you might not feel safe. If that's so, you "
            "don't have to go on with couples exercises; help is there, and you can leave "
            "quietly."
        )
    elif flagged:
        reason = "words"
        message = " ".join(flagged)
    elif offer_check and check is None:
        reason = "offer"
        message = (
            "Before you start: a short, private safety check is there for you (GET "
            "/api/v1/me/safety-check). Nobody else sees it or its result."
        )
    elif offer_check and not is_current(check):
        reason = "offer"
        message = (
            "Before you start: the private safety check has new questions since you took it "
            "(GET /api/v1/me/safety-check). Nobody else sees it or its result."
        )
    else:
        return None
    return {
        "reason": reason,
        "message": message,
        "note": help_["note"],
        "quiet_exit": help_["quiet_exit"],
        "resources": help_["resources"],
    }
