"""The shared timeline API."""

from __future__ import annotations

from collections.abc import Callable

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import with_couple_timeline
from backend.pagination import Page
from backend.timeline.schemas import TimelinePageSchema, TimelineQueryArgsSchema

blp = Blueprint("timeline", __name__, url_prefix="/api/v1", description="The shared timeline.")


@blp.route("/couple/timeline")
class Timeline(MethodView):
    @with_couple_timeline
    @blp.arguments(TimelineQueryArgsSchema, location="query")
    @blp.response(200, TimelinePageSchema)
    @blp.doc(operationId="list_couple_timeline")
    def get(self, args: dict, read_page: Callable[..., Page]) -> Page:
        """The couple's timeline, newest first; page on with `cursor`."""
        return read_page(**args)
