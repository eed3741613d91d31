"""The shape of an export (each part is documented in docs/privacy-and-safety.md)."""

from __future__ import annotations

import marshmallow as ma

ARRAY = {"type": "array", "items": {"type": "object"}}


class ExportSchema(ma.Schema):
    """Everything Trustline holds about you. Instants are UTC, ending in Z."""

    exported_at = ma.fields.String(metadata={"format": "date-time"})
    account = ma.fields.Raw(metadata={"type": "object"})
    couples = ma.fields.Raw(
        metadata={
            **ARRAY,
            "description": "Each couple you were in, with its check-ins (your answers, and your "
            "partner's shared ones once revealed), schedules, agreements, conversations, "
            "exercises, counselor links and timeline.",
        }
    )
    journal = ma.fields.Raw(metadata=ARRAY)
    notifications = ma.fields.Raw(metadata=ARRAY)
    devices = ma.fields.Raw(metadata=ARRAY)
    sessions = ma.fields.Raw(metadata=ARRAY)
    safety_check = ma.fields.Raw(metadata={"type": "object", "nullable": True})
