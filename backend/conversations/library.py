"""The conversation templates (backend/content/conversations.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "conversations.yaml"
ROLE_PAIRS = (("hurt_partner", "involved_partner"), ("speaker", "listener"))


def validate_templates(data: Any) -> list[str]:
    """Every problem with the templates, as readable lines (empty when sound)."""
    problems: list[str] = []
    seen: set[str] = set()
    for template in (data or {}).get("templates", []):
        key = template.get("key")
        if not key or key in seen:
            problems.append(f"template {key!r}: missing or duplicate key")
        seen.add(key)
        roles = tuple(template.get("roles", ()))
        if roles not in ROLE_PAIRS:
            problems.append(f"template {key!r}: roles must be one of {ROLE_PAIRS}")
        steps = template.get("steps") or []
        if not steps:
            problems.append(f"template {key!r}: no steps")
        for step in steps:
            if step.get("writers") not in {*roles, "both", "either"}:
                problems.append(f"template {key!r}, step {step.get('key')!r}: unknown writers")
            if step.get("swap_roles_after") and roles != ("speaker", "listener"):
                problems.append(f"template {key!r}: only speaker/listener roles can swap")
    return problems


@cache
def templates() -> dict[str, dict[str, Any]]:
    """The templates by key (read and checked once per process)."""
    data = yaml.safe_load(CONTENT_FILE.read_text(encoding="utf-8"))
    problems = validate_templates(data)
    if problems:
        raise ValueError(f"{CONTENT_FILE}: " + "; ".join(problems))
    return {t["key"]: t for t in data["templates"]}


def template(key: str) -> dict[str, Any] | None:
    """One template, or None."""
    return templates().get(key)
