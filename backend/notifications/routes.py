"""The notification feed and push devices: /me/notifications, /me/devices."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import verify_jwt_in_request
from flask_smorest import Blueprint

from backend.access import current_session_id, current_user, role_required, with_own_device
from backend.notifications import service
from backend.notifications.models import Device, Notification
from backend.notifications.schemas import (
    DeviceCreateSchema,
    DeviceListSchema,
    DeviceSchema,
    FeedArgsSchema,
    FeedSchema,
    MarkedSchema,
    MarkReadSchema,
)
from backend.pagination import Page, PageArgsSchema

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/v1", description="Notifications and devices."
)


@blp.route("/me/notifications")
class Feed(MethodView):
    @role_required(None)
    @blp.arguments(FeedArgsSchema, location="query")
    @blp.response(200, FeedSchema)
    def get(self, args: dict) -> Page[Notification]:
        """Your notifications, newest first (`unread=true` for the unread ones)."""
        return service.feed(user_id=current_user().id, **args)


@blp.route("/me/notifications/read")
class MarkRead(MethodView):
    @role_required(None)
    @blp.arguments(MarkReadSchema)
    @blp.response(200, MarkedSchema)
    @blp.doc(operationId="mark_my_notifications_read")
    def post(self, data: dict) -> dict[str, int]:
        """Mark notifications read: `{ids: [...]}` or `{all: true}`."""
        marked = service.mark_read(
            user_id=current_user().id, ids=data.get("ids"), everything=data["all"]
        )
        return {"marked": marked}


def require_fresh_login() -> None:
    """Refuse unless the access token is fresh: export's own check, with export's 401."""
    verify_jwt_in_request(fresh=True)


@blp.route("/me/devices")
class Devices(MethodView):
    @role_required(None)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, DeviceListSchema)
    def get(self, args: dict) -> Any:
        """Every device that receives your notifications, newest first."""
        return service.devices(user_id=current_user().id, **args)

    @role_required(None)
    @blp.arguments(DeviceCreateSchema)
    @blp.response(201, DeviceSchema)
    @blp.alt_response(
        401,
        description="A device new to this login needs a password login within the last 5 minutes.",
    )
    def post(self, data: dict) -> Any:
        """Register this device for pushes, or replace its rotated token (a new device needs a
        fresh login, and tells you in your feed)."""
        return service.register_device(
            user_id=current_user().id,
            session_id=current_session_id(),
            confirm_fresh_login=require_fresh_login,
            **data,
        )


@blp.route("/me/devices/<device_id>")
class DeviceById(MethodView):
    @with_own_device
    @blp.response(204)
    def delete(self, device: Device) -> None:
        """Stop pushes to a device (no fresh login: stepping back never needs one)."""
        service.remove_device(
            device=device,
            session_id=current_session_id(),
        )
