"""Single-use codes: made, stored as a keyed hash, redeemed once, wrong guesses limited.

A pairing code (one partner gives it to the other) and a counselor's link code (a counselor
gives it to a couple) are the same thing: a short code read aloud or typed by hand, of which
only an HMAC is stored, that works once before it expires, and that a person may guess wrong
only so often. This module is that thing once; each domain keeps its own table (a row with
`id`, `code_hash`, `used_at` and `expires_at`), its lifetime and its words. It imports no
domain.

    code = codes.generate()                       # shown once, to its maker
    row = Invite(code_hash=codes.hash_code(code), expires_at=...)
    ...
    limit = codes.WrongCodes("pairing-code")
    row = codes.find_unused(Invite, code, now=now, limit=limit, guesser=user.id, unknown=...)
    if not codes.claim_code(row, now=now, used_by_id=user.id):
        raise NotFound(...)                       # another redeemer got there first
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from limits import parse_many

from backend.database import claim
from backend.errors import NotFound
from backend.extensions import db
from backend.ratelimit import Rule, hashed_key, limiter

# No 0/O, 1/I/L: a code read aloud or copied by hand should not be mistyped.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8
# Wrong codes one person may enter, per kind of code.
WRONG_CODES = parse_many("10/hour")
TOO_MANY_WRONG = "Too many wrong codes. Please wait a little and try again."

Row = TypeVar("Row")


def generate(length: int = LENGTH) -> str:
    """A new random code of `length` characters from the unambiguous alphabet."""
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def normalize(code: str) -> str:
    """A code as it is compared: case, spaces and dashes do not matter."""
    return "".join(code.split()).replace("-", "").upper()


def hash_code(code: str) -> str:
    """The stored form of a code: an HMAC keyed with the app's secret, so a copy of the
    database alone is not enough to find codes (compared case- and space-insensitively)."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, normalize(code).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WrongCodes:
    """The wrong-code limit of one kind of code (`kind` names its counters: "pairing-code")."""

    kind: str

    def rules(self, guesser: str) -> list[Rule]:
        """The window counting this person's wrong codes of this kind."""
        return [(WRONG_CODES, hashed_key(self.kind, guesser))]

    def check(self, guesser: str) -> None:
        """429 (RateLimited) if this person has entered too many wrong codes lately."""
        limiter().check(self.rules(guesser), TOO_MANY_WRONG)

    def count_wrong(self, guesser: str) -> None:
        """Count one wrong code against this person."""
        limiter().record_failure(self.rules(guesser))


def find_unused(
    model: type[Row],
    code: str,
    *,
    now: datetime,
    limit: WrongCodes,
    guesser: str,
    unknown: str,
) -> Row:
    """The unused, unexpired row of `model` holding `code`, after checking the guesser's
    limit; 404 (`unknown`) otherwise, counted as a wrong code.

    The row is found by its hash, so the code itself is never compared byte by byte with
    anything stored (nothing to time)."""
    limit.check(guesser)
    found: Any = db.session.scalar(_by_hash(model), {"code_hash": hash_code(code)})
    if found is None or found.used_at is not None or found.expires_at <= now:
        limit.count_wrong(guesser)
        raise NotFound(unknown)
    return found


def claim_code(row: Any, *, now: datetime, **values: Any) -> bool:
    """Mark a found code used (with `values`, e.g. who used it), atomically: of two people
    redeeming it at once exactly one gets True, however their requests interleave."""
    params = {"row_id": row.id, "new_used_at": now}
    params.update({f"new_{name}": value for name, value in values.items()})
    return claim(db.session, _claim_statement(type(row), tuple(sorted(values))), params)


# Each kind of code's two statements, built once (SQLAlchemy then finds their SQL and cache
# keys once, not per request).
@functools.cache
def _by_hash(model: type) -> sa.Select[Any]:
    return sa.select(model).where(model.code_hash == sa.bindparam("code_hash"))  # type: ignore[attr-defined]


# The claim is the table's UPDATE: the model's would be annotated anew for the ORM at every run
# and its cache key found again (a sixth of accepting a pairing code). What it changes is not
# told to a loaded row, as with the ORM's `synchronize_session=False`.
@functools.cache
def _claim_statement(model: type, names: tuple[str, ...]) -> sa.Update:
    table = model.__table__  # type: ignore[attr-defined]
    return (
        sa.update(table)
        .where(table.c.id == sa.bindparam("row_id"), table.c.used_at.is_(None))
        .values(used_at=sa.bindparam("new_used_at"), **{n: sa.bindparam(f"new_{n}") for n in names})
    )
