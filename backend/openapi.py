"""How the generated OpenAPI document describes what every operation shares.

An apispec plugin adds, to every operation: its security (bearer token unless the view says
`security=[]`), the problem+json error responses it can give, and the `Idempotency-Key`
header on POSTs. Doing it here, once, means a new view cannot forget to document them.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

from backend.idempotency.middleware import is_exempt

BEARER = "bearerAuth"
PROBLEM = "application/problem+json"
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}
IDEMPOTENCY_HEADER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "A client-chosen key (1-255 printable characters). A retried POST with the same key "
        "from the same user within 24 hours replays the first response and writes nothing new; "
        "the same key with a different request is a 422."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


class ConventionsPlugin(BasePlugin):
    """Document Trustline's shared conventions on every operation."""

    def init_spec(self, spec: Any) -> None:
        """Register the bearer security scheme and the idempotency header."""
        self.spec = spec
        spec.components.security_scheme(
            BEARER,
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "Access token from /auth/login, /auth/register or /auth/refresh.",
            },
        )
        spec.components.parameter("IdempotencyKey", "header", IDEMPOTENCY_HEADER)

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Add security, error responses and the idempotency header to each operation."""
        for method, operation in (operations or {}).items():
            public = operation.get("security") == []
            if not public:
                operation["security"] = [{BEARER: []}]
            responses = operation.setdefault("responses", {})
            has_body = "requestBody" in operation or method in ("post", "put", "patch")
            has_params = bool(operation.get("parameters")) or "{" in (path or "")
            errors = {"400": "BAD_REQUEST", "500": "INTERNAL_SERVER_ERROR"}
            if not public:
                errors["401"] = "UNAUTHORIZED"
            if not public or "{" in (path or ""):
                errors["404"] = "NOT_FOUND"
            if has_body:
                errors["413"] = "REQUEST_ENTITY_TOO_LARGE"
                errors["415"] = "UNSUPPORTED_MEDIA_TYPE"
            if has_body or has_params:
                errors["422"] = "UNPROCESSABLE_ENTITY"
            for status, response in responses.items():
                if str(status)[:1] in "45" and isinstance(response, dict):
                    response.setdefault("content", {PROBLEM: {"schema": "Problem"}})
                    if str(status) == "429":
                        response.setdefault("headers", {"Retry-After": RETRY_AFTER})
            documented = {str(code) for code in responses}
            for status, name in errors.items():
                if status not in documented:
                    responses[int(status)] = name
            if method == "post" and not is_exempt(path or ""):
                params = operation.setdefault("parameters", [])
                if "IdempotencyKey" not in params:
                    params.append("IdempotencyKey")
