"""Request hooks that apply idempotency to every POST carrying an Idempotency-Key.

Only requests with a valid access token take part: keys are per user. A view whose request or
response holds a secret (a password, a token, a fresh code) wears `@takes_no_part` and never
takes part, because a stored copy would keep that secret at rest; see docs/api.md. A request
is recognised by an HMAC keyed with the app's secret, so a copy of the database can't be used
to test guesses of what a stored request said.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from flask import Flask, Response, current_app, g, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request

from backend.errors import Invalid
from backend.extensions import db
from backend.http import is_exempt
from backend.idempotency import service

HEADER = "Idempotency-Key"
# Separates this use of the secret key from its others (tokens, code HMACs).
FINGERPRINT_CONTEXT = b"trustline idempotency request fingerprint"


KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")


def _fingerprint_key() -> bytes:
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, FINGERPRINT_CONTEXT, hashlib.sha256).digest()


def _request_hash() -> str:
    body = request.get_data(cache=True)
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = body
    # Keyed, not a plain hash: a short or guessable body (a code, a rating) could otherwise be
    # found from its stored hash by trying candidates, by anyone holding a copy of the table.
    digest = hmac.new(_fingerprint_key(), digestmod=hashlib.sha256)
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
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method != "POST" or key is None or is_exempt(view, request.method):
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
        # At the request's edge: whatever the view left uncommitted (a view outside any use
        # case) is not ours to commit with the stored response.
        db.session.rollback()
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
