"""RFC 9457 problem details: the one error shape of the API.

Services raise the domain errors below; routes let them through; the handlers registered here
turn every error (domain, HTTP, token, unexpected) into `application/problem+json`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, g, json
from werkzeug.exceptions import HTTPException

from backend.redaction import redacted_exc_info

PROBLEM_CONTENT_TYPE = "application/problem+json"
log = logging.getLogger("backend.errors")


def _roll_back() -> None:
    """Roll back the request's transaction. The session is reached through the app, not
    `backend.extensions`: that module renders its own errors with this one's ProblemSchema,
    so errors sits below it and imports nothing of Trustline's but the redaction helper."""
    current_app.extensions["sqlalchemy"].session.rollback()


class ProblemSchema(ma.Schema):
    """An RFC 9457 problem details object (documentation only)."""

    type = ma.fields.String(metadata={"description": "A URI naming the kind of problem."})
    title = ma.fields.String(metadata={"description": "Short summary of the kind of problem."})
    status = ma.fields.Integer(metadata={"description": "The HTTP status code."})
    detail = ma.fields.String(metadata={"description": "What went wrong, for a person."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.List(ma.fields.String()),
        metadata={
            "description": "Messages per field (dotted path for nested fields).",
            "optional": True,
        },
    )
    request_id = ma.fields.String(
        metadata={"description": "Also in the X-Request-ID header.", "optional": True}
    )


class DomainError(Exception):
    """A rule of the domain was not met; carries what the client needs to know."""

    status = 409
    slug = "conflict"

    def __init__(
        self,
        detail: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers) if headers else {}


class NotFound(DomainError):
    """The object does not exist or the caller may not see it (never 403: ids can't be probed)."""

    status = 404
    slug = "not-found"


class Conflict(DomainError):
    """The object's state does not allow the change."""

    status = 409
    slug = "conflict"


class Invalid(DomainError):
    """Input was well-formed but breaks a rule; `errors` names the fields."""

    status = 422
    slug = "validation-error"

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        """A validation error about one field."""
        return cls(message, errors={name: [message]})


class Unauthorized(DomainError):
    """Credentials missing, wrong, expired or revoked."""

    status = 401
    slug = "unauthorized"


class RateLimited(DomainError):
    """Too many failures; try again after `retry_after` seconds."""

    status = 429
    slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(DomainError):
    """A service Trustline depends on cannot be reached; nothing was changed."""

    status = 503
    slug = "service-unavailable"

    def __init__(self, detail: str, *, retry_after: int = 60) -> None:
        # Like every 503 of the API, it says when to try again (documented in openapi.yaml).
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class PreconditionFailed(DomainError):
    """`If-Match` did not match the current version."""

    status = 412
    slug = "precondition-failed"


class PreconditionRequired(DomainError):
    """The change needs `If-Match`."""

    status = 428
    slug = "precondition-required"


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Build a problem+json response."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"/problems/{slug}" if slug else "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail or phrase,
    }
    if errors:
        body["errors"] = dict(errors)
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow/webargs nested messages into `{"a.b.0.c": [...]}`."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = str(key)
            if name == "_schema":
                name = ""
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            for sub_key, sub_value in flatten_errors(value, path).items():
                flat.setdefault(sub_key, []).extend(sub_value)
    elif isinstance(messages, list | tuple):
        if all(isinstance(item, str) for item in messages):
            flat[prefix or "body"] = [str(item) for item in messages]
        else:
            for item in messages:
                for sub_key, sub_value in flatten_errors(item, prefix).items():
                    flat.setdefault(sub_key, []).extend(sub_value)
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


LOCATIONS = ("json", "query", "querystring", "headers", "view_args", "path", "files", "form")


def _webargs_errors(messages: Mapping[str, Any]) -> dict[str, list[str]]:
    """Drop webargs' location level ("json", "query") and flatten what is under it."""
    flat: dict[str, list[str]] = {}
    for location, value in messages.items():
        nested = value if location in LOCATIONS else {location: value}
        for key, msgs in flatten_errors(nested).items():
            flat.setdefault(key, []).extend(msgs)
    return flat


_HTTP_DETAILS = {
    400: "The request could not be understood.",
    404: "There is nothing at this address, or it is not yours to see.",
    405: "This method is not allowed here.",
    413: "The request body is larger than 1 MiB.",
    415: "Send the request body as JSON (Content-Type: application/json).",
}


def handle_http_exception(error: HTTPException) -> Response:
    """Render werkzeug and flask-smorest HTTP errors as problems."""
    status = error.code or 500
    if status >= 500:
        return handle_unexpected(error)
    data = getattr(error, "data", None) or {}
    errors = None
    messages = data.get("errors") or data.get("messages")
    if messages:
        errors = _webargs_errors(messages)
    detail = data.get("message")
    if status == 400 and errors and set(errors) == {"body"} and detail is None:
        detail = "The request body is not valid JSON."
    if detail is None:
        if status == 422 and errors:
            detail = "Some fields are invalid: " + ", ".join(sorted(errors)) + "."
        else:
            detail = _HTTP_DETAILS.get(status) or error.description
    headers = {
        key: value
        for key, value in error.get_headers()
        if key.lower() not in ("content-type", "content-length")
    }
    headers.update(data.get("headers") or {})
    slug = "validation-error" if status == 422 else None
    return problem(status, detail, errors=errors, slug=slug, headers=headers)


def handle_domain_error(error: DomainError) -> Response:
    """Render a rule broken in a service."""
    _roll_back()
    return problem(
        error.status, error.detail, slug=error.slug, errors=error.errors, headers=error.headers
    )


def handle_unexpected(error: BaseException) -> Response:
    """Log an unexpected error with the request id and answer a 500 without details."""
    _roll_back()
    original = getattr(error, "original_exception", None) or error
    # Its type and traceback, not its message: a message often quotes what was sent.
    log.error(
        "unhandled %s (request %s)",
        type(original).__name__,
        getattr(g, "request_id", "-"),
        exc_info=redacted_exc_info(original),
    )
    return problem(
        500,
        "Something went wrong on our side. Nothing was changed; please try again.",
        slug="internal-error",
    )


def handle_database_unavailable(error: Exception) -> Response:
    """The database failed mid-request: the transaction is rolled back, nothing was saved."""
    _roll_back()
    log.error("database error %s (request %s)", type(error).__name__, getattr(g, "request_id", "-"))
    return problem(
        503,
        "The service is briefly unavailable. Nothing was saved; please try again.",
        slug="service-unavailable",
        headers={"Retry-After": "2"},
    )


def register_error_handlers(app: Flask) -> None:
    """Install the problem+json handlers on the app."""
    import sqlalchemy as sa

    app.register_error_handler(sa.exc.OperationalError, handle_database_unavailable)
    app.register_error_handler(sa.exc.InterfaceError, handle_database_unavailable)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
