"""Checking an answer's value against its prompt's kind."""

from __future__ import annotations

from typing import Any

from backend.checkins.models import PromptRevision


def value_problem(prompt: PromptRevision, value: Any) -> str | None:
    """Why `value` is not a valid answer to `prompt`, or None when it is."""
    config = prompt.config
    if prompt.kind == "scale":
        low, high = config["min"], config["max"]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"Give a whole number from {low} to {high}."
    elif prompt.kind == "choice":
        options = [o["value"] for o in config["options"]]
        if not isinstance(value, str) or value not in options:
            return "Pick one of: " + ", ".join(options) + "."
    elif prompt.kind == "multi_choice":
        options = [o["value"] for o in config["options"]]
        limit = config.get("max_choices") or len(options)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v in options for v in value)
            or len(set(value)) != len(value)
        ):
            return "Pick one or more different options of: " + ", ".join(options) + "."
        if len(value) > limit:
            return f"Pick at most {limit}."
    elif prompt.kind == "text":
        limit = config["max_length"]
        if not isinstance(value, str) or not value.strip():
            return "Write a few words (or leave this prompt out)."
        if len(value) > limit:
            return f"Keep it under {limit} characters."
    return None


def normalized(prompt: PromptRevision, value: Any) -> Any:
    """The value as stored (text trimmed)."""
    return value.strip() if prompt.kind == "text" else value
