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
from backend.pagination import Page
from backend.viewer import note_written

blp = Blueprint(
    "conversations", __name__, url_prefix="/api/v1", description="Guided conversations."
)


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
    def get(self, args: dict, couple: Any) -> Page[Conversation]:
        """The couple's conversations, newest first."""
        # A listed conversation's notice is the caller's own (no words, no offer).
        return service.list_conversations(couple=couple, **args)

    @with_couple(write=True)
    @blp.arguments(ConversationCreateSchema)
    @blp.response(201, ConversationSchema)
    @blp.alt_response(409, description="The couple has ended.")
    @blp.doc(operationId="start_conversation")
    def post(self, data: dict, couple: Any) -> Conversation:
        """Start a guided conversation with its roles assigned; your partner is told."""
        conversation = service.start(
            couple=couple, user=current_user(), template_key=data["template"], roles=data["roles"]
        )
        note_written(offer_check=True)
        return conversation


@blp.route("/conversations/<conversation_id>")
class ConversationById(MethodView):
    @with_couple_object("conversation_id", Conversation)
    @blp.response(200, ConversationSchema)
    def get(self, conversation: Conversation) -> Conversation:
        """One conversation: the current step, who is expected to write, entries so far."""
        return conversation


@blp.route("/conversations/<conversation_id>/entries")
class Entries(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.arguments(EntryCreateSchema)
    @blp.response(201, ConversationSchema)
    @blp.alt_response(409, description="Not your turn, paused, finished, or the couple ended.")
    @blp.doc(operationId="write_conversation_entry")
    def post(self, data: dict, conversation: Conversation) -> Conversation:
        """Write in the current step (only a partner the step asks for)."""
        written = service.write_entry(conversation=conversation, user=current_user(), **data)
        note_written(data["text"])
        return written


@blp.route("/conversations/<conversation_id>/ready")
class Ready(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Entries still missing, paused, or finished.")
    @blp.doc(operationId="mark_ready_to_move_on")
    def post(self, conversation: Conversation) -> Conversation:
        """Agree to move on; the step advances when both have and every entry is written."""
        return service.mark_ready(conversation=conversation, user=current_user())


@blp.route("/conversations/<conversation_id>/pause")
class Pause(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.arguments(PauseSchema, required=False)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Already paused, or finished.")
    def post(self, data: dict, conversation: Conversation) -> Conversation:
        """A time-out, at any time (at least 20 minutes); your partner is told."""
        return service.pause(conversation=conversation, user=current_user(), **data)


@blp.route("/conversations/<conversation_id>/resume")
class Resume(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Not paused, or the cool-down is not over.")
    def post(self, conversation: Conversation) -> Conversation:
        """Pick the conversation up again."""
        return service.resume(conversation=conversation, user=current_user())


@blp.route("/conversations/<conversation_id>/abandon")
class Abandon(MethodView):
    @with_couple_object("conversation_id", Conversation, write=True)
    @blp.response(200, ConversationSchema)
    @blp.alt_response(409, description="Already finished.")
    def post(self, conversation: Conversation) -> Conversation:
        """Stop the conversation for good; either partner may."""
        return service.abandon(conversation=conversation, user=current_user())
