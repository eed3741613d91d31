"""Opaque identifiers: random, URL-safe, never sequential."""

from __future__ import annotations

import secrets

ID_LENGTH = 22


def new_id() -> str:
    """Return a new opaque id (128 random bits, URL-safe base64, 22 characters)."""
    return secrets.token_urlsafe(16)
