"""The shared timeline API."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import with_couple
from backend.pagination import Page
from backend.timeline import service
from backend.timeline.schemas import TimelinePageSchema, TimelineQueryArgsSchema

blp = Blueprint("timeline", __name__, url_prefix="/api/v1", description="The shared timeline.")


@blp.route("/couple/timeline")
class Timeline(MethodView):
    @with_couple(reads=True)
    @blp.arguments(TimelineQueryArgsSchema, location="query")
    @blp.response(200, TimelinePageSchema)
    @blp.doc(operationId="list_couple_timeline")
    def get(self, args: dict, couple: Any) -> Page:
        """The couple's timeline, newest first; page on with `cursor`."""
        return service.list_events(couple_id=couple.id, **args)
