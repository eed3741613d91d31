"""Every domain's models, imported so that the metadata (and Alembic) sees all tables."""

from backend.accounts.models import AccountActivity, AuthSession, RefreshToken, User
from backend.agreements.models import (
    Agreement,
    AgreementConsent,
    AgreementItem,
    AgreementVersion,
)
from backend.calendar_feeds.models import CalendarFeed
from backend.checkins.models import (
    Answer,
    Checkin,
    CheckinItem,
    CheckinResponse,
    Prompt,
    PromptRevision,
    PromptSet,
    PromptSetItem,
)
from backend.conversations.models import Conversation, ConversationEntry, ConversationReady
from backend.counseling.models import (
    CounselorLink,
    CounselorLinkCode,
    Exercise,
    ExerciseParticipant,
)
from backend.couples.models import Couple, CoupleMember, PairingInvite
from backend.idempotency.models import IdempotencyRecord
from backend.journal.models import JournalEntry
from backend.measures.models import (
    AssignedPartner,
    Measure,
    MeasureAssignment,
    MeasureResponse,
    MeasureSharing,
    MeasureVersion,
)
from backend.notifications.models import Device, Notification, PushAttempt
from backend.safety.models import SafetyCheck
from backend.scheduling.models import Schedule
from backend.timeline.models import TimelineEvent

__all__ = [
    "AccountActivity",
    "Agreement",
    "AgreementConsent",
    "AgreementItem",
    "AgreementVersion",
    "Answer",
    "AssignedPartner",
    "AuthSession",
    "CalendarFeed",
    "Checkin",
    "CheckinItem",
    "CheckinResponse",
    "Conversation",
    "ConversationEntry",
    "ConversationReady",
    "CounselorLink",
    "CounselorLinkCode",
    "Couple",
    "CoupleMember",
    "Device",
    "Exercise",
    "ExerciseParticipant",
    "IdempotencyRecord",
    "JournalEntry",
    "Measure",
    "MeasureAssignment",
    "MeasureResponse",
    "MeasureSharing",
    "MeasureVersion",
    "Notification",
    "PairingInvite",
    "Prompt",
    "PromptRevision",
    "PromptSet",
    "PromptSetItem",
    "PushAttempt",
    "RefreshToken",
    "SafetyCheck",
    "Schedule",
    "TimelineEvent",
    "User",
]
