"""Shapes of the operational endpoints."""

from __future__ import annotations

import marshmallow as ma


class HealthSchema(ma.Schema):
    """The process is up."""

    status = ma.fields.String(metadata={"example": "ok"})


class ReadinessSchema(HealthSchema):
    """The process and what it depends on."""

    database = ma.fields.String(metadata={"example": "ok"})
    ratelimit_store = ma.fields.String(
        metadata={"enum": ["ok", "unreachable"], "description": "Reported; does not decide."}
    )
