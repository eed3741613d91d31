"""Schedules API."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.access import current_user, with_couple, with_couple_object
from backend.scheduling import service
from backend.scheduling.models import Schedule
from backend.scheduling.schemas import (
    OccurrenceSchema,
    ScheduleCreateSchema,
    ScheduleSchema,
    ScheduleUpdateSchema,
    UpcomingArgsSchema,
)

blp = Blueprint("schedules", __name__, url_prefix="/api/v1", description="Check-in schedules.")


@blp.route("/couple/schedules")
class CoupleSchedules(MethodView):
    @with_couple()
    @blp.response(200, ScheduleSchema(many=True))
    def get(self, couple: Any) -> list[Schedule]:
        """The couple's check-in schedules."""
        return service.list_schedules(couple=couple)

    @with_couple(write=True)
    @blp.arguments(ScheduleCreateSchema)
    @blp.response(201, ScheduleSchema)
    @blp.alt_response(409, description="The couple has ended.")
    def post(self, data: dict, couple: Any) -> Schedule:
        """Add a schedule; your partner is told."""
        return service.create_schedule(couple=couple, user=current_user(), data=data)


@blp.route("/schedules/<schedule_id>")
class ScheduleById(MethodView):
    @with_couple_object("schedule_id", Schedule)
    @blp.response(200, ScheduleSchema)
    def get(self, schedule: Schedule) -> Schedule:
        """One schedule."""
        return schedule

    @with_couple_object("schedule_id", Schedule, write=True)
    @blp.arguments(ScheduleUpdateSchema)
    @blp.response(200, ScheduleSchema)
    @blp.alt_response(409, description="The couple has ended.")
    def patch(self, changes: dict, schedule: Schedule) -> Schedule:
        """Change or pause a schedule (either partner); the other is told."""
        return service.update_schedule(schedule=schedule, user=current_user(), changes=changes)

    @with_couple_object("schedule_id", Schedule, write=True)
    @blp.response(204)
    @blp.alt_response(409, description="The couple has ended.")
    def delete(self, schedule: Schedule) -> None:
        """Remove a schedule; its past check-ins stay. The other partner is told."""
        service.delete_schedule(schedule=schedule, user=current_user())


@blp.route("/schedules/<schedule_id>/upcoming")
class Upcoming(MethodView):
    @with_couple_object("schedule_id", Schedule)
    @blp.arguments(UpcomingArgsSchema, location="query")
    @blp.response(200, OccurrenceSchema(many=True))
    @blp.doc(operationId="list_upcoming_occurrences")
    def get(self, args: dict, schedule: Schedule) -> list[Schedule]:
        """The next occurrences, in UTC and local time (none while paused)."""
        return service.upcoming_occurrences(schedule=schedule, count=args["count"])
