"""Log records: plain text by default, one JSON object a line with TRUSTLINE_LOG_FORMAT=json.

Both formats say the same things: what happened, where, the request it belongs to. The app
writes one access record per request itself (logger `backend.access`: method, route template,
status, duration, request id) instead of the server's request line, which quotes the raw path
and query string: ids, and the calendar feed's token, are in the path. A record never carries a
body, a token, an e-mail or a name: messages are written not to quote values, exceptions are
logged by type and traceback only (backend/redaction.py), and a JSON record holds only the
fields named below, whatever a library adds to a record.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import click
from flask import Flask, Response, g, has_request_context, request
from gunicorn.glogging import Logger as GunicornBaseLogger
from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from backend.config import LOG_FORMATS, ConfigError
from backend.redaction import Redacted, redacted_exc_info

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
# Marks the handlers this module installs, so that configuring again replaces them.
HANDLER_NAME = "trustline"
# The fields a JSON record may hold besides time, level, logger, message and request_id (and
# exc_info): adding one here is a decision that its values are never personal.
RECORD_FIELDS = (
    "method",
    "route",
    "status",
    "duration_ms",
    "opened",
    "missed",
    "expired",
    "reminded",
    "purged",
)
# Health checks and scrapes come every few seconds: their access records are DEBUG.
QUIET_ENDPOINTS = ("ops.", "metrics.")

access_log = logging.getLogger("backend.access")
cli_log = logging.getLogger("backend.cli")


def log_format(value: str | None) -> str:
    """The log format named by TRUSTLINE_LOG_FORMAT ("text" when unset); refuse any other.

    load_config checks the environment already; this checks a value given to create_app, and
    gunicorn's master, which reads the environment before any app exists."""
    name = (value or "text").strip().lower()
    if name not in LOG_FORMATS:
        raise ConfigError(
            f"TRUSTLINE_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}; got {value!r}"
        )
    return name


def _without_message(ei: Any) -> Any:
    """`exc_info` whose exception (and those chained to it) is named, not quoted."""
    exc = ei[1] if isinstance(ei, tuple) else None
    if exc is None or isinstance(exc, Redacted):
        return ei  # already redacted by the code that logged it (its summary is kept)
    return redacted_exc_info(exc)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the id of the request being served ("-" outside one); never drops a record."""
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


class TextFormatter(logging.Formatter):
    """The plain line: time, level, request id, logger and message; exceptions by type only."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatException(self, ei: Any) -> str:
        """The traceback, with every exception's message left out."""
        return super().formatException(_without_message(ei))


class JsonFormatter(LibraryJsonFormatter):
    """One JSON object per record, holding only time, level, logger, message, request_id,
    the RECORD_FIELDS a record carries, and an exception's traceback without its message."""

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """Fill `log_data` from the allowed fields only (not every attribute of the record)."""
        request_id = getattr(record, "request_id", "-")
        log_data["time"] = (
            datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6]
            + "Z"
        )
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        log_data["request_id"] = None if request_id == "-" else request_id
        for name in RECORD_FIELDS:
            if name in record.__dict__:
                log_data[name] = record.__dict__[name]
        for name in ("exc_info", "stack_info"):
            if message_dict.get(name):
                log_data[name] = message_dict[name]

    def formatException(self, ei: Any) -> str | list[str]:  # type: ignore[override]
        """The traceback, with every exception's message left out."""
        return super().formatException(_without_message(ei))


def formatter_for(name: str) -> logging.Formatter:
    """The formatter of a log format ("text" or "json")."""
    return JsonFormatter() if log_format(name) == "json" else TextFormatter()


def _handler(name: str, stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.name = HANDLER_NAME
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(formatter_for(name))
    return handler


def _remove_own_handlers(logger: logging.Logger) -> None:
    for handler in [h for h in logger.handlers if h.name == HANDLER_NAME]:
        logger.removeHandler(handler)


def configure_logging(app: Flask) -> None:
    """Log to stderr in the configured format, and log one access record per request."""
    name = log_format(app.config.get("TRUSTLINE_LOG_FORMAT"))
    app.config["TRUSTLINE_LOG_FORMAT"] = name
    backend = logging.getLogger("backend")
    backend.setLevel(app.config["TRUSTLINE_LOG_LEVEL"])
    root = logging.getLogger()
    _remove_own_handlers(backend)
    _remove_own_handlers(root)
    if name == "json":
        # Every logger's records (werkzeug's, APScheduler's, Alembic's, SQLAlchemy's) reach
        # the root's one JSON handler, so no line of the process is anything but JSON.
        root.addHandler(_handler(name))
        backend.propagate = True
        for chatty in ("alembic", "flask_migrate"):  # migration progress, as Alembic's ini has it
            logging.getLogger(chatty).setLevel(logging.INFO)
    else:
        backend.addHandler(_handler(name))
        backend.propagate = False
    app.before_request(start_timer)
    app.after_request(log_request)


def start_timer() -> None:
    """Note when the request began, for its access record."""
    g.request_started = time.perf_counter()


def log_request(response: Response) -> Response:
    """Write the request's access record: method, route template, status, duration, id.

    The route template (`/api/v1/checkins/<checkin_id>`), never the path or query string: they
    hold ids, cursors and the calendar feed's token.
    """
    started = g.pop("request_started", None)
    endpoint = request.endpoint or ""
    level = logging.DEBUG if endpoint.startswith(QUIET_ENDPOINTS) else logging.INFO
    if not access_log.isEnabledFor(level):
        return response
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    rule = request.url_rule
    route = rule.rule if rule is not None else None
    access_log.log(
        level,
        "%s %s %s %s ms",
        request.method,
        route or "(no route)",
        response.status_code,
        duration_ms,
        extra={
            "method": request.method,
            "route": route,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response


def report(app: Flask, text: str, **fields: Any) -> None:
    """What a command did, for a person: on standard output, or as a JSON log record (with
    `fields`) when the logs are JSON, so that every line the command writes is JSON."""
    if app.config.get("TRUSTLINE_LOG_FORMAT") == "json":
        cli_log.info(text, extra=fields)
    else:
        click.echo(text)


class GunicornLogger(GunicornBaseLogger):
    """Gunicorn's logger (`logger_class` in gunicorn.conf.py): with TRUSTLINE_LOG_FORMAT=json
    its own records are JSON too, and its access log gives way to the app's access record."""

    def setup(self, cfg: Any) -> None:
        """Set up as gunicorn does, then format its handlers as the app's."""
        super().setup(cfg)
        self.log_format = log_format(os.environ.get("TRUSTLINE_LOG_FORMAT"))
        if self.log_format == "json":
            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                handler.addFilter(RequestIdFilter())
                handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> None:
        """In JSON, nothing (its line quotes the raw path); otherwise gunicorn's access line."""
        if self.log_format != "json":
            super().access(resp, req, environ, request_time)
