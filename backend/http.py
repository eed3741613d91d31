"""Request hooks shared by every route: request ids, body limits, JSON-only bodies.

Logging (the access record of each request included) is set up in backend/logs.py.

Also the two guards that keep hostile input from reaching a 500: JSON bodies nested deeper
than MAX_JSON_DEPTH, and text (body, query, path) holding a NUL or a lone UTF-16 surrogate,
are refused before any route reads them; and a request whose transaction meets a transient
database conflict runs again (see TrustlineFlask).
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
import weakref
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any, TypeVar

from flask import Flask, Response, g, request
from flask_smorest import Blueprint, abort
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from backend.config import MAX_BODY_BYTES
from backend.errors import Invalid, NotFound
from backend.fields import text_problem

F = TypeVar("F", bound=Callable[..., Any])

# A route declares here whether it takes part in idempotency: set on a view by `takes_no_part`,
# read by the idempotency hook (idempotency/middleware.py) and by the OpenAPI plugin.
EXEMPT_ATTRIBUTE = "trustline_takes_no_idempotency"
EXEMPT_DOC = "x-trustline-no-idempotency"


def takes_no_part(view: F) -> F:
    """Mark a POST view whose request or response holds a secret: it is never stored."""
    setattr(view, EXEMPT_ATTRIBUTE, True)
    # Also tell the OpenAPI plugin, which sees only the doc, not to offer the header (the
    # wrapper that Blueprint.doc returns carries the attribute over).
    return Blueprint.doc(**{EXEMPT_DOC: True})(view)


def is_exempt(view: Callable[..., Any] | None, method: str) -> bool:
    """Whether `method` requests to this view function never take part in idempotency."""
    handler = getattr(getattr(view, "view_class", None), method.lower(), None) or view
    return bool(getattr(handler, EXEMPT_ATTRIBUTE, False))


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
    if has_body and not _is_json(request.mimetype) and not _console_form():
        raise UnsupportedMediaType()


def _console_form() -> bool:
    """The counselors' console (backend/console) posts HTML forms; the API takes only JSON."""
    return (
        request.blueprint == "console" and request.mimetype == "application/x-www-form-urlencoded"
    )


# No request of the API nests deeper than 4; 32 leaves room and keeps every decoder, schema and
# json.dumps far from Python's recursion limit (a 6 KB body of "[" would otherwise reach it).
MAX_JSON_DEPTH = 32
_ESCAPED_BACKSLASH = b"\\\\"
_ESCAPED_QUOTE = b'\\"'
_JSON_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NESTING_STEP = tuple(1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256))


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, found without decoding it."""
    # In valid JSON a backslash only appears in a string, opening a two-character escape, so
    # dropping escaped backslashes and then escaped quotes leaves strings without inner quotes;
    # then strings go, and the brackets left are the structure. Each step is linear.
    text = body.replace(_ESCAPED_BACKSLASH, b"").replace(_ESCAPED_QUOTE, b"")
    brackets = _JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_NESTING_STEP.__getitem__, brackets)), default=0)


def _unsafe_text(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, message) for every string or key in decoded JSON that can't be stored."""
    if isinstance(value, str):
        message = text_problem(value)
        if message:
            yield path or "body", message
    elif isinstance(value, dict):
        for key, item in value.items():
            message = text_problem(key)
            if message:
                # The key itself can't name the field: name where it sits instead.
                yield path or "body", "A field name is not valid. " + message
                continue
            yield from _unsafe_text(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unsafe_text(item, f"{path}.{index}" if path else str(index))


def _unsafe_query() -> Iterator[tuple[str, str]]:
    """(parameter, message) for every query parameter that can't be stored."""
    for name, value in request.args.items(multi=True):
        problem = text_problem(name)
        if problem:
            yield "query", "A parameter name is not valid. " + problem
            continue
        problem = text_problem(value)
        if problem:
            yield name, problem


def _refuse(found: Iterator[tuple[str, str]]) -> None:
    errors: dict[str, list[str]] = {}
    for path, message in found:
        errors.setdefault(path, []).append(message)
    if errors:
        raise Invalid("Some fields are invalid: " + ", ".join(sorted(errors)) + ".", errors=errors)


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def guard_values() -> None:
    """Refuse deep JSON (400) and NUL or lone surrogates in any text (422, naming the field).

    PostgreSQL can't store NUL in text and no database driver can encode a lone surrogate, so
    such a value would fail deep inside a service; refusing it here answers the same on every
    database, before anything is read or written. A path holding one names nothing: 404.
    """
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and text_problem(value):
            raise NotFound("There is nothing at this address, or it is not yours to see.")
    _refuse(_unsafe_query())
    if not _is_json(request.mimetype):
        return
    body = request.get_data(cache=True)
    if not body:
        return
    if json_depth(body) > MAX_JSON_DEPTH:
        abort(
            400,
            message=f"The request body nests arrays or objects deeper than {MAX_JSON_DEPTH}.",
            errors={"body": [f"Nest arrays and objects at most {MAX_JSON_DEPTH} deep."]},
        )
    try:
        # Decoded as the route's parser (webargs) will: UTF-8, no byte-order mark.
        data = json.loads(body.decode("utf-8"), parse_constant=_parse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return  # malformed: the route's parser answers its usual 400 (or ignores the body)
    except ValueError:
        # Legal-looking but not JSON a client should send: NaN, Infinity, integers of more
        # than 4,300 digits (which Python refuses to convert).
        abort(
            400,
            message="The request body is not valid JSON.",
            errors={"body": ["Use finite numbers of at most 4,300 digits; no NaN or Infinity."]},
        )
    _refuse(_unsafe_text(data, ""))


class TrustlineFlask(Flask):
    """Flask, running a request's view again when its transaction meets a transient conflict.

    A service commits once per use case, so a view that failed with a serialization failure or
    a deadlock (PostgreSQL) or a busy database (SQLite) has written nothing and may simply run
    again; `run_with_retries` refuses to when this attempt had already committed, so a retry
    never doubles a write, a timeline event or a notification. After the last attempt the
    error reaches the 503 handler (problem+json with Retry-After).
    """

    def dispatch_request(self) -> Any:
        """Dispatch as Flask does, inside the bounded retry of transient conflicts."""
        from backend.database import run_with_retries
        from backend.extensions import db

        return run_with_retries(super().dispatch_request, session=db.session)

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """As Flask's, asking once per function whether it is a coroutine function.

        Flask asks `inspect.iscoroutinefunction` each time it calls a view, a hook or one of
        flask-smorest's wrappers, some twenty times a request; the answer of a function never
        changes. Bound methods (a MethodView's, made anew for each request) are asked by their
        function, and the answers are held weakly, so nothing grows with the requests."""
        key = getattr(func, "__func__", func)
        try:
            coroutine = _COROUTINES.get(key)
        except TypeError:  # not weakly referable: ask Flask
            return super().ensure_sync(func)
        if coroutine is None:
            coroutine = _COROUTINES[key] = inspect.iscoroutinefunction(func)
        return self.async_to_sync(func) if coroutine else func


_COROUTINES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def add_request_id(response: Response) -> Response:
    """Echo the request id so a person can quote it when reporting a problem."""
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "-")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def forget_loaded_state(_error: BaseException | None) -> None:
    """When a request ends, nothing its session holds is taken as current any more: what a
    use case kept after its commit (`use_case(expire_on_commit=False)`) was for its answer
    alone. (A request's session usually ends with it; this holds where the session outlives
    it, as in a test's app context or a script's.)"""
    from backend.extensions import db

    if db.session.registry.has():
        db.session.expire_all()


def init_http(app: Flask) -> None:
    """Install the hooks (before idempotency, so oversized bodies are refused first)."""
    app.before_request(assign_request_id)
    app.before_request(guard_body)
    app.before_request(guard_values)
    app.after_request(add_request_id)
    app.teardown_request(forget_loaded_state)
