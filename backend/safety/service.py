"""Safety: help one tap away, a private check, and a quiet notice where words signal fear.

Nothing here changes anything the partner can observe: no status, no timing, no
notification. A notice is added to responses to its subject alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import current_app

from backend import clock
from backend.accounts.models import User
from backend.errors import Invalid
from backend.extensions import db
from backend.safety.models import SafetyCheck

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
    path = current_app.config.get("TRUSTLINE_SAFETY_RESOURCES")
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


@cache
def _phrase_pattern() -> re.Pattern[str]:
    phrases = sorted(_content()["phrases"], key=len, reverse=True)
    return re.compile("|".join(re.escape(p) for p in phrases))


def signals_harm(text: str) -> bool:
    """Whether free text holds a phrase of fear or harm (from the content file)."""
    normalized = " ".join(re.sub(r"[^\w\s']", " ", text.lower().replace("\u2019", "'")).split())
    return bool(_phrase_pattern().search(normalized))


def check_of(user: User) -> SafetyCheck | None:
    """The person's own safety check, if they did it."""
    return db.session.get(SafetyCheck, user.id)


def save_check(*, user: User, answers: dict[str, str]) -> SafetyCheck:
    """Store the person's answers; a yes (or unsure) to any question signals a concern."""
    keys = {q["key"] for q in _content()["check"]["questions"]}
    unknown = [k for k in answers if k not in keys]
    if unknown:
        raise Invalid.field(f"answers.{unknown[0]}", "There is no such question.")
    missing = sorted(keys - set(answers))
    if missing:
        raise Invalid.field(f"answers.{missing[0]}", "Answer yes, no or unsure.")
    check = check_of(user) or SafetyCheck(user_id=user.id)
    check.answers = dict(answers)
    check.concern = any(value in ("yes", "unsure") for value in answers.values())
    check.completed_at = clock.now()
    db.session.add(check)
    db.session.commit()
    return check


def check_view(user: User) -> dict[str, Any]:
    """The check as its author sees it: questions, their answers and the result."""
    check = check_of(user)
    content = _content()["check"]
    result = None
    if check is not None:
        result = " ".join(
            (content["result_concern"] if check.concern else content["result_clear"]).split()
        )
    return {
        **questions(),
        "answers": check.answers if check else {},
        "completed_at": check.completed_at if check else None,
        "concern": check.concern if check else None,
        "result": result,
        "safety_notice": notice_for(user),
    }


def notice_for(
    user: User, *, texts: Iterable[str] = (), offer_check: bool = False
) -> dict[str, Any] | None:
    """The notice for this person's own response, or None.

    Given when their safety check signals fear or coercion, when words they just wrote do,
    or (with `offer_check`) before a first conversation or agreement, to offer the check.
    """
    check = check_of(user)
    help_ = resources()
    if check is not None and check.concern:
        reason = "check"
        message = " ".join(_content()["check"]["result_concern"].split())
    elif any(signals_harm(text) for text in texts if text):
        reason = "words"
        message = (
            "Some of what you wrote sounds like you might not feel safe. If that's so, you "
            "don't have to go on with couples exercises; help is there, and you can leave "
            "quietly."
        )
    elif offer_check and check is None:
        reason = "offer"
        message = (
            "Before you start: a short, private safety check is there for you (GET "
            "/api/v1/me/safety-check). Nobody else sees it or its result."
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
