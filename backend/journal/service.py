"""The private journal."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.accounts import service as accounts
from backend.errors import NotFound
from backend.extensions import db
from backend.journal.models import JournalEntry
from backend.pagination import Page, keyset_page
from backend.unit_of_work import use_case


def entry_of(user: accounts.User, entry_id: str) -> JournalEntry:
    """One of the caller's own entries; anyone else's is 404."""
    entry = db.session.get(JournalEntry, entry_id)
    if entry is None or entry.user_id != user.id:
        raise NotFound("There is no journal entry with this id that you can see.")
    return entry


@use_case
def write(*, user: accounts.User, text: str, title: str | None = None) -> JournalEntry:
    """A new entry."""
    entry = JournalEntry(user_id=user.id, text=text, title=title or None)
    db.session.add(entry)
    return entry


@use_case
def edit(*, entry: JournalEntry, changes: dict[str, Any]) -> JournalEntry:
    """Change an entry's title or text."""
    if "text" in changes:
        entry.text = changes["text"]
    if "title" in changes:
        entry.title = changes["title"] or None  # a blank title is no title
    return entry


@use_case
def remove(*, entry: JournalEntry) -> None:
    """Delete an entry for good."""
    db.session.delete(entry)


def entries(*, user: accounts.User, limit: int, cursor: str | None) -> Page[JournalEntry]:
    """A page of the caller's entries, newest first."""
    return keyset_page(
        sa.select(JournalEntry).where(JournalEntry.user_id == user.id),
        moment_column=JournalEntry.created_at,
        id_column=JournalEntry.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )
