"""What conversations hold about a person: their part of the export and of erasure.

The couple's conversations as the person may see them; in erasure, what they wrote shows as
removed, unsigned, in place (the partner's side of the conversation keeps its sense).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from backend.conversations import service as conversations
from backend.conversations.models import Conversation, ConversationEntry
from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step


@privacy.on_export_of_couple("conversations")
def export_conversations(
    request: privacy.Export, couple: privacy.SharedCouple
) -> list[dict[str, Any]]:
    """The couple's conversations as GET /conversations/{id} shows them to the person."""
    return [
        conversations.conversation_for_viewer(conversation, request.user.id)
        for conversation in db.session.scalars(
            sa.select(Conversation)
            .where(Conversation.couple_id == couple.id)
            .order_by(Conversation.started_at)
        )
    ]


@privacy.on_erase(Step.REMOVE)
def remove_entries(erasure: privacy.Erasure) -> None:
    """Their entries show as removed, with no author."""
    db.session.execute(
        sa.update(ConversationEntry)
        .where(ConversationEntry.author_id == erasure.user.id)
        .values(text=privacy.REMOVED, author_id=None)
    )
