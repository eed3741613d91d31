"""Marshmallow fields shared by every domain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import marshmallow as ma

from backend.timezones import is_valid_timezone

# Text no database stores alike: PostgreSQL refuses NUL in text, and no driver can encode a
# lone UTF-16 surrogate (legal in JSON as "\ud800", not in UTF-8). backend/http.py refuses
# both in every request before a route reads it.
NUL_MESSAGE = "Text may not contain the NUL character (\\u0000)."
SURROGATE_MESSAGE = (
    "Text must be valid Unicode: it holds a lone UTF-16 surrogate (\\ud800-\\udfff)."
)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored the same way on every database, or None if it can."""
    if "\x00" in text:
        return NUL_MESSAGE
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE_MESSAGE
    return None


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
            raise ma.ValidationError("Use an IANA time zone name, such as Europe/Berlin.")
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


def _all_messages(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _all_messages(value)]
    if isinstance(messages, list | tuple):
        return [text for value in messages for text in _all_messages(value)]
    return [str(messages)]


class DataKeyedDict(ma.fields.Dict):
    """A JSON object whose keys are data the client chose (a role, a question): an error names
    this field, never a key as it was sent (error bodies echo nothing that was submitted)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ma.ValidationError as error:
            messages = list(dict.fromkeys(_all_messages(error.messages)))
            raise ma.ValidationError(messages) from None


class RepeatedList(ma.fields.List):
    """A list in the query string: `?kinds=a&kinds=b` (OpenAPI's exploded form), or `a,b`.

    Every value of a repeated parameter counts (webargs hands over all of them because this is
    a List); each may also hold a comma-separated list, the form clients sent before the
    parameter was documented as exploded, so both keep working.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        values = value if isinstance(value, list | tuple) else [value]
        pieces = [
            piece
            for item in values
            for piece in (item.split(",") if isinstance(item, str) and item else [])
        ]
        return super()._deserialize(pieces, attr, data, **kwargs)
