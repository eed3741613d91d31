"""What calendar feeds hold about a person: their part of the export (nothing to erase
here: a feed belongs to a couple and goes when it ends, as erasure ends it)."""

from __future__ import annotations

from typing import Any

from backend.calendar_feeds import service as calendar_feeds
from backend.privacy import service as privacy


@privacy.on_export("calendar_feeds")
def export_calendar_feeds(request: privacy.Export) -> list[dict[str, Any]]:
    """Their calendar feeds that still work (never their addresses)."""
    return calendar_feeds.export_of(user_id=request.user.id)
