"""Shapes of the operational endpoints."""

from __future__ import annotations

import marshmallow as ma


class HealthSchema(ma.Schema):
    """Process or dependency status."""

    status = ma.fields.String(metadata={"example": "ok"})
    database = ma.fields.String(metadata={"example": "ok"})
    ratelimit_store = ma.fields.String(metadata={"example": "ok"})
