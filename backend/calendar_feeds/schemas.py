"""Shapes of calendar feeds: what a partner sends to make one, and what they see of theirs."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from marshmallow import validate

from backend.fields import Trimmed, UTCDateTime


class CalendarFeedCreateSchema(ma.Schema):
    """A new feed: an optional name of the partner's own."""

    EXAMPLE = {"label": "Work calendar"}

    label = Trimmed(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=60, error="Use between 1 and 60 characters."),
        metadata={
            "description": 'Your own name for the feed ("Work calendar"), shown only to you '
            "in your list; never in the feed itself."
        },
    )


class CalendarFeedSchema(ma.Schema):
    """One of the caller's feeds (its address is never shown again)."""

    id = ma.fields.String()
    label = ma.fields.String(allow_none=True)
    created_at = UTCDateTime(metadata={"description": "When it was made."})
    last_fetched_at = UTCDateTime(
        allow_none=True,
        metadata={"description": "When a calendar app last fetched it; null: never."},
    )


class FeedAddress(ma.fields.String):
    """The private address of a feed just made, from the token only `NewFeed` holds (this
    once): as https://, or as webcal:// (`webcal=True`), which opens a calendar app."""

    def __init__(self, *, webcal: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.webcal = webcal

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> str:
        url = url_for("calendar_feeds.CalendarFeedDocument", token=obj.token, _external=True)
        return "webcal://" + url.split("://", 1)[1] if self.webcal else url


class CalendarFeedCreatedSchema(CalendarFeedSchema):
    """A feed just made, with its private address: shown this once."""

    url = FeedAddress(
        metadata={
            "description": "The feed's private HTTPS address. Anyone with it can read the "
            "feed until you revoke it: give it only to your own calendar app."
        }
    )
    webcal_url = FeedAddress(
        webcal=True,
        metadata={"description": "The same address as webcal://, which opens a calendar app."},
    )


class CalendarFeedListSchema(ma.Schema):
    """A page of the caller's feeds, newest first."""

    items = ma.fields.List(ma.fields.Nested(CalendarFeedSchema))
    next_cursor = ma.fields.String(allow_none=True)
