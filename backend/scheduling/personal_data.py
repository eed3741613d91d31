"""What scheduling holds about a person: its part of the export (nothing to erase: a
schedule belongs to the couple and ends with it)."""

from __future__ import annotations

from typing import Any

from backend.privacy import service as privacy
from backend.scheduling import service as schedules


@privacy.on_export_of_couple("schedules")
def export_schedules(request: privacy.Export, couple: privacy.SharedCouple) -> list[dict[str, Any]]:
    """The couple's check-in schedules."""
    return [schedules.view(s) for s in schedules.list_schedules(couple=couple)]
