"""The conversation templates (backend/content/conversations.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "conversations.yaml"
SHARED_WRITERS = ("both", "either")


def _holders(template: dict[str, Any], index: int) -> dict[str, int]:
    """Which of the two people (0: first role's holder at the start, 1: the other) holds each
    role at step `index`, after the swaps of the steps before it."""
    first, second = template["roles"]
    steps = template["steps"]
    swaps = sum(1 for step in steps[:index] if step.get("swap_roles_after"))
    return {first: swaps % 2, second: 1 - swaps % 2}


def writing_people(template: dict[str, Any], index: int) -> set[int]:
    """The people (0 or 1, as in `_holders`) who write at step `index`."""
    writers = template["steps"][index]["writers"]
    if writers in SHARED_WRITERS:
        return {0, 1}
    return {_holders(template, index)[writers]}


def _step_problems(key: Any, template: dict[str, Any], roles: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    steps = template.get("steps") or []
    for index, step in enumerate(steps):
        where = f"template {key!r}, step {step.get('key')!r}"
        if step.get("writers") not in {*roles, *SHARED_WRITERS}:
            problems.append(f"{where}: unknown writers")
            continue
        if not step.get("asks_the_other"):
            continue
        # A question to the other partner needs a step of theirs to answer it, right after.
        if step["writers"] == "either":
            problems.append(f"{where}: a step that asks the other can't be written by either")
        elif index + 1 >= len(steps) or steps[index + 1].get("writers") not in {
            *roles,
            *SHARED_WRITERS,
        }:
            problems.append(f"{where}: asks the other partner, but no step answers it")
        else:
            askers = writing_people(template, index)
            answerers = writing_people(template, index + 1)
            if steps[index + 1]["writers"] == "either":
                answered = False
            elif askers == {0, 1}:  # each asks the other: each needs to answer
                answered = answerers == {0, 1}
            else:
                answered = bool(answerers - askers)
            if not answered:
                problems.append(f"{where}: the next step must be the other partner's answer")
    return problems


def validate_templates(data: Any) -> list[str]:
    """Every problem with the templates, as readable lines (empty when sound)."""
    problems: list[str] = []
    declared = (data or {}).get("roles") or {}
    if not isinstance(declared, dict) or not all(str(t).strip() for t in declared.values()):
        problems.append("roles: a mapping of role key to what the role is")
        declared = {}
    seen: set[str] = set()
    for template in (data or {}).get("templates", []):
        key = template.get("key")
        if not key or key in seen:
            problems.append(f"template {key!r}: missing or duplicate key")
        seen.add(key)
        roles = tuple(template.get("roles", ()))
        if len(roles) != 2 or len(set(roles)) != 2 or not set(roles) <= set(declared):
            problems.append(f"template {key!r}: roles must be two different declared roles")
            continue
        aliases = template.get("role_aliases") or {}
        if any(old in roles or new not in roles for old, new in aliases.items()):
            problems.append(f"template {key!r}: role_aliases map former role keys to its roles")
        if not template.get("steps"):
            problems.append(f"template {key!r}: no steps")
        problems += _step_problems(key, template, roles)
    return problems


@cache
def _content() -> dict[str, Any]:
    data = yaml.safe_load(CONTENT_FILE.read_text(encoding="utf-8"))
    problems = validate_templates(data)
    if problems:
        raise ValueError(f"{CONTENT_FILE}: " + "; ".join(problems))
    return data


@cache
def templates() -> dict[str, dict[str, Any]]:
    """The templates by key (read and checked once per process), with their roles described."""
    titles = _content()["roles"]
    return {
        t["key"]: {**t, "role_titles": {role: titles[role] for role in t["roles"]}}
        for t in _content()["templates"]
    }


def template(key: str) -> dict[str, Any] | None:
    """One template, or None."""
    return templates().get(key)


def role_keys() -> tuple[str, ...]:
    """Every role a client may name when starting: the declared ones and former keys still
    accepted as aliases."""
    aliases = {old for t in _content()["templates"] for old in t.get("role_aliases") or {}}
    return tuple(dict.fromkeys([*_content()["roles"], *sorted(aliases)]))
