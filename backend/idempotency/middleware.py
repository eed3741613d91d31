"""Request hooks that apply idempotency to every POST carrying an Idempotency-Key.

Only requests with a valid access token take part: keys are per user. Endpoints whose
responses hold credentials or codes (/auth/*, making a pairing invite or a counselor link
code) never take part, because storing their responses would keep secrets at rest; see
docs/api.md.
"""

from __future__ import annotations

import hashlib
import json
import re

from flask import Flask, Response, g, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request

from backend.errors import Invalid
from backend.idempotency import service

HEADER = "Idempotency-Key"
# Endpoints whose responses hold credentials or codes: they must never be stored.
EXEMPT_PREFIXES = ("/api/v1/auth/", "/api/v1/pairing-invites", "/api/v1/counselor/link-codes")


def is_exempt(path: str) -> bool:
    """Whether POSTs to `path` never take part in idempotency."""
    return path.startswith(EXEMPT_PREFIXES) and not path.startswith("/api/v1/pairing-invites/")


KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


def _request_hash() -> str:
    body = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.full_path.encode(), canonical):
        digest.update(part)
        digest.update(b"\x00")
    return digest.hexdigest()


def _caller() -> str | None:
    try:
        verify_jwt_in_request(optional=True)
    except Exception:
        return None
    identity = get_jwt_identity()
    return str(identity) if identity and g.get("trustline_user") is not None else None


def before_request() -> Response | None:
    """Replay a stored response, or claim the key for this request."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None or is_exempt(request.path):
        return None
    if not KEY_PATTERN.match(key):
        raise Invalid.field(HEADER, "Use 1 to 255 printable ASCII characters without spaces.")
    user_id = _caller()
    if user_id is None:
        return None
    outcome = service.begin(user_id=user_id, key=key, request_hash=_request_hash())
    if isinstance(outcome, str):
        g.idempotency_record_id = outcome
        return None
    response = Response(outcome.body, status=outcome.status_code, content_type=outcome.content_type)
    response.headers.update(outcome.headers)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def after_request(response: Response) -> Response:
    """Store the first response for the claimed key."""
    record_id = g.pop("idempotency_record_id", None)
    if record_id is not None:
        service.finish(
            record_id=record_id,
            status_code=response.status_code,
            content_type=response.content_type,
            headers=dict(response.headers),
            body=response.get_data(as_text=True),
        )
    return response


def init_idempotency(app: Flask) -> None:
    """Install the hooks."""
    app.before_request(before_request)
    app.after_request(after_request)
