"""argon2id password hashing, with the cost taken from the app's settings."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def _hasher() -> PasswordHasher:
    ext = current_app.extensions
    if "trustline_hasher" not in ext:
        config = current_app.config
        ext["trustline_hasher"] = PasswordHasher(
            time_cost=config["TRUSTLINE_ARGON2_TIME_COST"],
            memory_cost=config["TRUSTLINE_ARGON2_MEMORY_KIB"],
            parallelism=config["TRUSTLINE_ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        # A hash of nothing anyone knows, verified for unknown e-mails so that they take as
        # long as known ones.
        ext["trustline_dummy_hash"] = ext["trustline_hasher"].hash("no account has this password")
    return ext["trustline_hasher"]


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown account) spend the same time and say no."""
    hasher = _hasher()
    if password_hash is None:
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(current_app.extensions["trustline_dummy_hash"], password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with weaker settings than today's."""
    return _hasher().check_needs_rehash(password_hash)
