"""Private journal API: /me/journal."""

from __future__ import annotations

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
from backend.pagination import Page
from backend.viewer import note_written

blp = Blueprint("journal", __name__, url_prefix="/api/v1", description="Private journal.")


@blp.route("/me/journal")
class Journal(MethodView):
    @role_required(PARTNER)
    @blp.arguments(JournalQueryArgsSchema, location="query")
    @blp.response(200, JournalPageSchema)
    @blp.doc(operationId="list_my_journal_entries")
    def get(self, args: dict) -> Page[JournalEntry]:
        """Your journal, newest first. Only you ever see it."""
        # A listed entry's notice is the caller's own (no words just written).
        return service.entries(user=current_user(), **args)

    @role_required(PARTNER)
    @blp.arguments(JournalCreateSchema)
    @blp.response(201, JournalEntrySchema)
    @blp.doc(operationId="create_my_journal_entry")
    def post(self, data: dict) -> JournalEntry:
        """Write an entry."""
        entry = service.write(user=current_user(), **data)
        note_written(entry.text)
        return entry


@blp.route("/me/journal/<entry_id>")
class JournalEntryById(MethodView):
    @with_own_entry
    @blp.response(200, JournalEntrySchema)
    @blp.doc(operationId="get_my_journal_entry")
    def get(self, entry: JournalEntry) -> JournalEntry:
        """One entry."""
        return entry

    @with_own_entry
    @blp.arguments(JournalUpdateSchema)
    @blp.response(200, JournalEntrySchema)
    @blp.doc(operationId="update_my_journal_entry")
    def patch(self, changes: dict, entry: JournalEntry) -> JournalEntry:
        """Change an entry."""
        entry = service.edit(entry=entry, changes=changes)
        note_written(changes.get("text"))
        return entry

    @with_own_entry
    @blp.response(204)
    @blp.doc(operationId="delete_my_journal_entry")
    def delete(self, entry: JournalEntry) -> None:
        """Delete an entry for good."""
        service.remove(entry=entry)
