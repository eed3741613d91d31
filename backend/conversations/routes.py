"""Guided conversations API."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from backend.access import current_user, with_couple, with_couple_object
from backend.conversations import library, service
from backend.conversations.models import Conversation
from backend.conversations.schemas import (
    ConversationCreateSchema,
    ConversationPageSchema,
    ConversationQueryArgsSchema,
    ConversationSchema,
    EntryCreateSchema,
    PauseSchema,
    TemplateSchema,
)
from backend.couples.models import Couple
from backend.safety import service as safety

blp = Blueprint(
    "conversations", __name__, url_prefix="/api/v1", description="Guided conversations."
)


def _view(
    conversation: Conversation, *, wrote: str | None = None, first: bool = False
) -> dict[str, Any]:
    user = current_user()
    return {
        **service.conversation_for_viewer(conversation, user.id),
        "safety_notice": safety.notice_for(user, texts=[wrote] if wrote else (), offer_check=first),
    }


@blp.route("/conversation-templates")
class Templates(MethodView):
    @jwt_required()
    @blp.response(200, TemplateSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The conversation templates, with their steps and who writes in each."""
        return list(library.templates().values())


@blp.route("/couple/conversations")
class CoupleConversations(MethodView):
    @with_couple()
    @blp.arguments(ConversationQueryArgsSchema, location="query")
    @blp.response(200, ConversationPageSchema)
    def get(self, args: dict, couple: Couple) -> dict[str, Any]:
        """The couple's conversations, newest first."""
        page = service.list_conversations(couple=couple, **args)
        # A listed conversation's notice is the caller's own (no words, no offer): found once.
        notice = safety.notice_for(current_user())
        items = [
            {**service.conversation_for_viewer(c, current_user().id), "safety_notice": notice}
            for c in page.items
        ]
        return {"items": items, "next_cursor": page.next_cursor}

    @with_couple(write=True)
    @blp.arguments(ConversationCreateSchema)
    @blp.response(201, ConversationSchema)
    @blp.alt_response(409, description="The couple has ended.")
    @blp.doc(operationId="start_conversation")
    def post(self, data: dict, couple: Couple) -> dict[str, Any]:
        """Start a guided conversation with its roles assigned; your partner is told."""
        conversation = service.start(
            couple=couple, user=current_user(), template_key=data["template"], roles=data["roles"]
        )
        return _view(conversation, first=True)


@blp.route("/conversations/<conversation_id>")
class ConversationById(MethodView):
    @with_couple_object("conversation_id", Conversation)
    @blp.response(200, ConversationSchema)
    def get(self, conversation: Conversation) -> dict[str, Any]:
        """One conversation: the current step, who is expected to write, entries so far."""
        return _view(conversation)


@blp.route("/conversations/<conversation_id>/entries")
class Entries(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.arguments(EntryCreateSchema)
    @blp.response(201, ConversationSchema)
    @blp.alt_response(409, description="Not your turn, paused, finished, or the couple ended.")
    @blp.doc(operationId="write_conversation_entry")
    def post(self, data: dict, conversation: Conversation) -> dict[str, Any]:
        """Write in the current step (only a partner the step asks for)."""
        written = service.write_entry(conversation=conversation, user=current_user(), **data)
        return _view(written, wrote=data["text"])


@blp.route("/conversations/<conversation_id>/ready")
class Ready(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Entries still missing, paused, or finished.")
    @blp.doc(operationId="mark_ready_to_move_on")
    def post(self, conversation: Conversation) -> dict[str, Any]:
        """Agree to move on; the step advances when both have and every entry is written."""
        return _view(service.mark_ready(conversation=conversation, user=current_user()))


@blp.route("/conversations/<conversation_id>/pause")
class Pause(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.arguments(PauseSchema, required=False)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Already paused, or finished.")
    def post(self, data: dict, conversation: Conversation) -> dict[str, Any]:
        """A time-out, at any time (at least 20 minutes); your partner is told."""
        return _view(service.pause(conversation=conversation, user=current_user(), **data))


@blp.route("/conversations/<conversation_id>/resume")
class Resume(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Not paused, or the cool-down is not over.")
    def post(self, conversation: Conversation) -> dict[str, Any]:
        """Pick the conversation up again."""
        return _view(service.resume(conversation=conversation, user=current_user()))


@blp.route("/conversations/<conversation_id>/abandon")
class Abandon(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Already finished.")
    def post(self, conversation: Conversation) -> dict[str, Any]:
        """Stop the conversation for good; either partner may."""
        return _view(service.abandon(conversation=conversation, user=current_user()))
