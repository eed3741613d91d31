"""Marshmallow fields shared by every domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from backend.timezones import is_valid_timezone


class UTCDateTime(ma.fields.DateTime):
    """An ISO 8601 instant in UTC ending in `Z` (`2026-11-23T19:00:00Z`)."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            raise ma.ValidationError("Give a time zone offset or Z (UTC).")
        return parsed.astimezone(UTC)


class Trimmed(ma.fields.String):
    """A string with surrounding white space removed on input."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class TimeZoneName(ma.fields.String):
    """An IANA time zone name such as `Europe/Berlin`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs).strip()
        if not is_valid_timezone(name):
            raise ma.ValidationError(
                f"'{name}' is not an IANA time zone name (e.g. Europe/Berlin)."
            )
        return name


class EmailAddress(ma.fields.Email):
    """An e-mail address, trimmed and lower-cased before it is checked."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, str):
            value = value.strip().lower()
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(ma.fields.Boolean):
    """A JSON boolean: true or false, not 1, "yes" or "on"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise ma.ValidationError("Use true or false.")
        return value
