"""Each person owns their data: a full export, and erasure.

Export gathers everything Trustline holds about the caller, each part through the same
viewer-aware functions the API uses, so the partner's private answers can't slip in.

Erasure removes the caller's personal data and ends their couple (quietly, like leaving).
The partner keeps their own content; what the erased person wrote shows as removed, and the
person as "Former partner". Nothing of them stays findable by e-mail or by any name they
ever used.

Neither knows the domains: each domain says what it holds about a person in its own
`personal_data.py`, which registers here its part of the export (`on_export`,
`on_export_of_couple`) and its part of erasure (`on_erase`, at one of the `Step`s). This
module imports no domain, so every domain can register with it; the app factory imports
every `personal_data` module (`backend/__init__.py`), so the parts are all there whenever
the app is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from functools import cached_property
from typing import Any, Protocol

import sqlalchemy as sa

from backend import clock
from backend.fields import UTCDateTime
from backend.unit_of_work import use_case

FORMER = "Former partner"
FORMER_COUNSELOR = "Former counselor"
REMOVED = "[removed]"


class Person(Protocol):
    """Whoever is exported or erased: an account (accounts' `User`), as privacy sees it."""

    id: str
    role: str


class SharedCouple(Protocol):
    """A couple the person was in (couples' `Couple`), as privacy sees it."""

    id: str


# Export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """One export as it is built: whose, and from which login (the download is recorded)."""

    user: Person
    session_id: str | None


Section = Callable[[Export], Any]
CoupleSection = Callable[[Export, SharedCouple], Any]

# The document's parts, in the order it lists them; their shape is `schemas.ExportSchema`.
SECTIONS = (
    "account",
    "couples",
    "journal",
    "notifications",
    "devices",
    "sessions",
    "safety_check",
    "activity",
    "calendar_feeds",
    "measures",
)
# The parts of each couple in `couples` after its own fields (`schemas.ExportCoupleSchema`).
COUPLE_SECTIONS = (
    "checkins",
    "schedules",
    "agreements",
    "conversations",
    "exercises",
    "counselor_links",
    "timeline",
)
_sections: dict[str, Section] = {}
_couple_sections: dict[str, CoupleSection] = {}


def on_export(key: str) -> Callable[[Section], Section]:
    """Register a domain's part of the export: the value of `key` (one of `SECTIONS`)."""

    def register(hook: Section) -> Section:
        _register(_sections, SECTIONS, key, hook)
        return hook

    return register


def on_export_of_couple(key: str) -> Callable[[CoupleSection], CoupleSection]:
    """Register a domain's part of each couple in the export: the value of `key` (one of
    `COUPLE_SECTIONS`), as the person may see it."""

    def register(hook: CoupleSection) -> CoupleSection:
        _register(_couple_sections, COUPLE_SECTIONS, key, hook)
        return hook

    return register


def _register(hooks: dict[str, Any], layout: tuple[str, ...], key: str, hook: Any) -> None:
    # A part the document does not list would never reach the client (the schema drops it),
    # and two domains writing one part would overwrite each other: both are mistakes to stop.
    if key not in layout:
        raise ValueError(f"{key!r} is not a part of the export: add it to the layout first.")
    if key in hooks and hooks[key] is not hook:
        raise ValueError(f"The export's {key!r} is already written by {hooks[key].__module__}.")
    hooks[key] = hook


@use_case
def export(*, user: Person, session_id: str | None = None) -> dict[str, Any]:
    """Everything Trustline holds about the caller, as one document."""
    request = Export(user=user, session_id=session_id)
    return as_json({"exported_at": clock.now(), **_parts(_sections, SECTIONS, request)})


def export_of_couple(request: Export, couple: SharedCouple) -> dict[str, Any]:
    """The parts of one of the person's couples, in the document's order (couples' own part
    of the export calls this for each couple it lists)."""
    return _parts(_couple_sections, COUPLE_SECTIONS, request, couple)


def _parts(hooks: dict[str, Any], layout: tuple[str, ...], *args: Any) -> dict[str, Any]:
    missing = [key for key in layout if key not in hooks]
    if missing:
        raise LookupError(
            f"No domain writes the export's {missing}: is its personal_data imported?"
        )
    return {key: hooks[key](*args) for key in layout}


def as_json(value: Any) -> Any:
    """Plain JSON values: instants as UTC `Z` strings, dates ISO, tuples as lists."""
    if isinstance(value, datetime):
        return UTCDateTime()._serialize(value, None, None)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    return value


# Erasure --------------------------------------------------------------------------------


class Step(IntEnum):
    """The steps of erasure, in the order they run. Within a step, no hook needs another's
    work, so the domains' hooks of one step may run in any order."""

    CONFIRM = 1
    """The person proves it is them (their password); nothing has changed yet."""
    LEAVE = 2
    """They leave their couple as leaving always does (its own hooks end what it holds), so
    that what leaving writes is scrubbed with the rest."""
    FIND_COUPLES = 3
    """Every name they went by, and the couples whose shared history may hold them."""
    FIND_PEOPLE = 4
    """Everyone who shared one of those couples with them: members and counselors."""
    REMOVE = 5
    """What they wrote goes (with a marker where a partner's view would jump); what is theirs
    alone is deleted."""
    SCRUB = 6
    """Their names, wherever the shared history of those couples spelled them out."""
    FORGET = 7
    """The account itself, last: the steps before read it."""


@dataclass(eq=False)
class Erasure:
    """One erasure as it runs: whose, and what its steps found out for the later ones."""

    user: Person
    password: str = field(repr=False)
    client_address: str
    session_id: str | None
    now: datetime
    # What they are called from now on, wherever they still show.
    former: str
    # Every name they went by (FIND_COUPLES).
    names: set[str] = field(default_factory=set)
    # The couples whose shared history may spell out their names (FIND_COUPLES).
    couple_ids: list[str] = field(default_factory=list)
    # The other people of those couples, members and counselors (FIND_PEOPLE).
    people: set[str] = field(default_factory=set)

    @cached_property
    def _scrubber(self) -> NameScrubber:
        return NameScrubber(self.names, self.former)

    def name_scrubber(self) -> NameScrubber | None:
        """What replaces their names in shared texts (SCRUB); None when nothing is to be
        scrubbed (no shared couple, or no name but the neutral label)."""
        if not self.couple_ids or not self._scrubber.names:
            return None
        return self._scrubber


ErasureHook = Callable[[Erasure], None]
_erasure_hooks: list[tuple[Step, ErasureHook]] = []


def on_erase(step: Step) -> Callable[[ErasureHook], ErasureHook]:
    """Register a domain's part of erasure, run at `step` in erasure's one transaction."""

    def register(hook: ErasureHook) -> ErasureHook:
        if (step, hook) not in _erasure_hooks:
            _erasure_hooks.append((step, hook))
        return hook

    return register


@use_case
def erase(
    *, user: Person, password: str, client_address: str = "-", session_id: str | None = None
) -> None:
    """Erase the caller's personal data; their couple ends, quietly. One transaction."""
    erasure = Erasure(
        user=user,
        password=password,
        client_address=client_address,
        session_id=session_id,
        now=clock.now(),
        former=FORMER_COUNSELOR if user.role == "counselor" else FORMER,
    )
    for _step, hook in sorted(_erasure_hooks, key=lambda registered: registered[0]):
        hook(erasure)


class NameScrubber:
    """Replaces any of a person's names, as whole words, in texts written with them."""

    def __init__(self, names: set[str], former: str) -> None:
        # Longest first, so "Alice Smith" goes whole rather than leaving "Smith" behind.
        self.names = sorted((n for n in names if n and n != former), key=len, reverse=True)
        self.former = former
        self.pattern = re.compile(
            "|".join(rf"(?<!\w){re.escape(n)}(?!\w)" for n in self.names) or r"(?!)"
        )
        # The same names as they appear inside a stored JSON document (escaped, or not).
        self.json_names = {json.dumps(n)[1:-1] for n in self.names} | set(self.names)
        self.json_pattern = re.compile(
            "|".join(
                rf"(?<!\w){re.escape(n)}(?!\w)"
                for n in sorted(self.json_names, key=len, reverse=True)
            )
            or r"(?!)"
        )

    def mentions(self, *columns: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        """Whether any of `columns` holds one of the names (to find the rows to scrub)."""
        return sa.or_(
            *(column.contains(n, autoescape=True) for column in columns for n in self.names)
        )

    def json_mentions(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
        """Whether a stored JSON document holds one of the names, escaped or not."""
        return sa.or_(*(column.contains(n, autoescape=True) for n in self.json_names))

    def text(self, value: str, limit: int) -> str:
        """`value` without the names, within the column's `limit`."""
        scrubbed = self.pattern.sub(self.former, value)
        if len(value) >= limit:
            # A text cut at the column's length may end in the first part of a name.
            for name in self.names:
                for size in range(len(name) - 1, 2, -1):
                    head = scrubbed[:-size]
                    if scrubbed.endswith(name[:size]) and not head[-1:].isalnum():
                        scrubbed = head + self.former
                        break
        return scrubbed[:limit]

    def json_text(self, value: str) -> str:
        """A stored JSON document without the names."""
        return self.json_pattern.sub(self.former, value)
