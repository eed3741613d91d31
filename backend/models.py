"""Every domain's models, imported so that the metadata (and Alembic) sees all tables."""

from backend.accounts.models import AuthSession, RefreshToken, User
from backend.idempotency.models import IdempotencyRecord

__all__ = ["AuthSession", "IdempotencyRecord", "RefreshToken", "User"]
