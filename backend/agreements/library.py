"""The built-in agreement suggestions and guidance texts (backend/content/agreements.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTENT_FILE = Path(__file__).resolve().parent.parent / "content" / "agreements.yaml"


@cache
def content() -> dict[str, Any]:
    """The parsed content file (read once per process)."""
    return yaml.safe_load(CONTENT_FILE.read_text(encoding="utf-8"))


def guidance(key: str) -> str:
    """One guidance text: about, mutual, one_sided, withdrawal, offered_not_demanded,
    walls_and_windows or end_date."""
    return " ".join(content()["guidance"][key].split())


def guidance_keys() -> list[str]:
    """The keys of every guidance text, in the file's order."""
    return list(content()["guidance"])


def suggestions(category: str | None = None) -> list[dict[str, Any]]:
    """Suggested commitments, written as mutual ones, optionally of one category."""
    return [s for s in content()["suggestions"] if category in (None, s["category"])]


def categories() -> list[dict[str, Any]]:
    """The item categories with their titles."""
    return content()["categories"]
