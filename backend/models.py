"""Every domain's models, imported so that the metadata (and Alembic) sees all tables."""

from backend.accounts.models import AuthSession, RefreshToken, User
from backend.couples.models import Couple, CoupleMember, PairingInvite
from backend.idempotency.models import IdempotencyRecord
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent

__all__ = [
    "AuthSession",
    "Couple",
    "CoupleMember",
    "IdempotencyRecord",
    "Notification",
    "PairingInvite",
    "RefreshToken",
    "TimelineEvent",
    "User",
]
