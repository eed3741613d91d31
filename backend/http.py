"""Request hooks shared by every route: request ids, body limits, JSON-only bodies, logging."""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from backend.config import MAX_BODY_BYTES

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or mimetype.endswith("+json")


def assign_request_id() -> None:
    """Take the caller's X-Request-ID when it is safe to log, otherwise make one."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def guard_body() -> None:
    """Refuse oversized and non-JSON bodies before anything reads them."""
    length = request.content_length
    if length is not None and length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    has_body = request.method in ("POST", "PUT", "PATCH") and (
        length or "chunked" in request.headers.get("Transfer-Encoding", "")
    )
    if has_body and not _is_json(request.mimetype):
        raise UnsupportedMediaType()


def add_request_id(response: Response) -> Response:
    """Echo the request id so a person can quote it when reporting a problem."""
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "-")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def configure_logging(app: Flask) -> None:
    """Log to stderr with the request id; never log bodies."""
    logger = logging.getLogger("backend")
    logger.setLevel(app.config["TRUSTLINE_LOG_LEVEL"])
    if not any(isinstance(f, RequestIdFilter) for h in logger.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
        )
        logger.addHandler(handler)
        logger.propagate = False


def init_http(app: Flask) -> None:
    """Install the hooks (before idempotency, so oversized bodies are refused first)."""
    app.before_request(assign_request_id)
    app.before_request(guard_body)
    app.after_request(add_request_id)
