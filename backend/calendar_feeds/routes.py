"""Calendar feeds: /me/calendar-feeds (the partner's own URLs) and the feeds themselves."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import PARTNER, current_session_id, current_user, role_required, with_couple
from backend.calendar_feeds import service
from backend.calendar_feeds.schemas import (
    CalendarFeedCreatedSchema,
    CalendarFeedCreateSchema,
    CalendarFeedListSchema,
)
from backend.http import takes_no_part
from backend.pagination import PageArgsSchema
from backend.ratelimit import reports_limits

blp = Blueprint(
    "calendar_feeds",
    __name__,
    url_prefix="/api/v1",
    description="Private calendar feeds of upcoming check-ins, reviews and due dates.",
)
ICALENDAR = "text/calendar"


@blp.route("/me/calendar-feeds")
class CalendarFeeds(MethodView):
    @role_required(PARTNER)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, CalendarFeedListSchema)
    def get(self, args: dict) -> Any:
        """Your calendar feeds, newest first (their addresses are never shown again)."""
        return service.feeds(user_id=current_user().id, **args)

    @takes_no_part  # the response holds the feed's private address
    @with_couple(write=True, fresh=True)
    @blp.arguments(CalendarFeedCreateSchema)
    @blp.response(201, CalendarFeedCreatedSchema)
    @blp.alt_response(401, description="Needs a password login within the last 5 minutes.")
    @blp.alt_response(409, description="The couple has ended, or you have 10 feeds already.")
    def post(self, data: dict, couple: service.Couple) -> service.NewFeed:
        """Make a private calendar feed address (needs a fresh login; shown once)."""
        return service.create_feed(
            user=current_user(),
            couple=couple,
            label=data["label"],
            session_id=current_session_id(),
        )


@blp.route("/me/calendar-feeds/<feed_id>")
class CalendarFeedById(MethodView):
    @role_required(PARTNER)
    @blp.response(204)
    def delete(self, feed_id: str) -> None:
        """Revoke a calendar feed: its address stops at once (no fresh login needed)."""
        service.revoke_feed(
            feed=service.feed_of(current_user().id, feed_id), session_id=current_session_id()
        )


@blp.route("/calendar/<token>.ics")
class CalendarFeedDocument(MethodView):
    @reports_limits  # RateLimit fields on every answer
    @blp.doc(security=[])
    @blp.response(
        200,
        {"type": "string"},
        content_type=ICALENDAR,
        description="An iCalendar (RFC 5545) document of the upcoming dates.",
    )
    @blp.alt_response(429, description="Too many unknown feed addresses from this address.")
    @blp.alt_response(503, description="The rate-limit store is unreachable; try again soon.")
    @blp.doc(operationId="download_calendar_feed")
    def get(self, token: str) -> Response:
        """A private calendar feed; its address is the only credential.

        404 once it is revoked, or once its partner has left the couple or erased their account.
        """
        feed = service.feed_for_token(token=token, client_address=request.remote_addr or "-")
        return Response(
            service.calendar_of(feed=feed),
            mimetype=ICALENDAR,
            # The feed changes as schedules do; a shared cache must never keep one.
            headers={"Cache-Control": "private, no-cache"},
        )
