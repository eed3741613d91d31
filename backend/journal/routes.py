"""Private journal API: /me/journal."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import PARTNER, current_user, role_required, with_own_entry
from backend.journal import service
from backend.journal.models import JournalEntry
from backend.journal.schemas import (
    JournalCreateSchema,
    JournalEntrySchema,
    JournalPageSchema,
    JournalQueryArgsSchema,
    JournalUpdateSchema,
)
from backend.safety import service as safety

blp = Blueprint("journal", __name__, url_prefix="/api/v1", description="Private journal.")


def _fields(entry: JournalEntry, notice: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "text": entry.text,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "safety_notice": notice,
    }


def _view(entry: JournalEntry, *, wrote: str | None = None) -> dict[str, Any]:
    return _fields(entry, safety.notice_for(current_user(), texts=[wrote] if wrote else ()))


@blp.route("/me/journal")
class Journal(MethodView):
    @role_required(PARTNER)
    @blp.arguments(JournalQueryArgsSchema, location="query")
    @blp.response(200, JournalPageSchema)
    @blp.doc(operationId="list_my_journal_entries")
    def get(self, args: dict) -> dict[str, Any]:
        """Your journal, newest first. Only you ever see it."""
        page = service.entries(user=current_user(), **args)
        # A listed entry's notice is the caller's own (no words just written): found once.
        notice = safety.notice_for(current_user())
        return {"items": [_fields(e, notice) for e in page.items], "next_cursor": page.next_cursor}

    @role_required(PARTNER)
    @blp.arguments(JournalCreateSchema)
    @blp.response(201, JournalEntrySchema)
    @blp.doc(operationId="create_my_journal_entry")
    def post(self, data: dict) -> dict[str, Any]:
        """Write an entry."""
        entry = service.write(user=current_user(), **data)
        return _view(entry, wrote=entry.text)


@blp.route("/me/journal/<entry_id>")
class JournalEntryById(MethodView):
    @with_own_entry
    @blp.response(200, JournalEntrySchema)
    @blp.doc(operationId="get_my_journal_entry")
    def get(self, entry: JournalEntry) -> dict[str, Any]:
        """One entry."""
        return _view(entry)

    @with_own_entry
    @blp.arguments(JournalUpdateSchema)
    @blp.response(200, JournalEntrySchema)
    @blp.doc(operationId="update_my_journal_entry")
    def patch(self, changes: dict, entry: JournalEntry) -> dict[str, Any]:
        """Change an entry."""
        entry = service.edit(entry=entry, changes=changes)
        return _view(entry, wrote=changes.get("text"))

    @with_own_entry
    @blp.response(204)
    @blp.doc(operationId="delete_my_journal_entry")
    def delete(self, entry: JournalEntry) -> None:
        """Delete an entry for good."""
        service.remove(entry=entry)
