"""Private journal API: /me/journal."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from backend.accounts.access import current_user
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


def _view(entry: JournalEntry, *, wrote: str | None = None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "title": entry.title,
        "text": entry.text,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "safety_notice": safety.notice_for(current_user(), texts=[wrote] if wrote else ()),
    }


@blp.route("/me/journal")
class Journal(MethodView):
    @jwt_required()
    @blp.arguments(JournalQueryArgsSchema, location="query")
    @blp.response(200, JournalPageSchema)
    def get(self, args: dict) -> dict[str, Any]:
        """Your journal, newest first. Only you ever see it."""
        page = service.entries(user=current_user(), **args)
        return {"items": [_view(e) for e in page.items], "next_cursor": page.next_cursor}

    @jwt_required()
    @blp.arguments(JournalCreateSchema)
    @blp.response(201, JournalEntrySchema)
    def post(self, data: dict) -> dict[str, Any]:
        """Write an entry."""
        entry = service.write(user=current_user(), **data)
        return _view(entry, wrote=entry.text)


@blp.route("/me/journal/<entry_id>")
class JournalEntryById(MethodView):
    @jwt_required()
    @blp.response(200, JournalEntrySchema)
    def get(self, entry_id: str) -> dict[str, Any]:
        """One entry."""
        return _view(service.entry_of(current_user(), entry_id))

    @jwt_required()
    @blp.arguments(JournalUpdateSchema)
    @blp.response(200, JournalEntrySchema)
    def patch(self, changes: dict, entry_id: str) -> dict[str, Any]:
        """Change an entry."""
        entry = service.edit(entry=service.entry_of(current_user(), entry_id), changes=changes)
        return _view(entry, wrote=changes.get("text"))

    @jwt_required()
    @blp.response(204)
    def delete(self, entry_id: str) -> None:
        """Delete an entry for good."""
        service.remove(entry=service.entry_of(current_user(), entry_id))
