"""How the generated OpenAPI document describes what every operation shares.

An apispec plugin adds, to every operation: a stable `operationId`, its security (bearer token
unless the view says `security=[]`), the problem+json error responses it can give (with
`Retry-After` on 429 and 503), and the `Idempotency-Key` header on POSTs. It also states what
response bodies always hold: every field of a schema used in a response is `required` unless
declared `metadata={"optional": True}` (or load-only), and a nullable nested object is written
`allOf: [$ref], nullable: true`, the OpenAPI 3.0 form client generators read as "this model or
null". Doing it here, once, means a new view or schema cannot forget any of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_instance

from backend.http import EXEMPT_DOC
from backend.ratelimit import LIMIT_FIELDS_DOC, LIMITS_DOC

BEARER = "bearerAuth"
PROBLEM = "application/problem+json"
API_PREFIX = "/api/v1"
SCHEMA_REF = "#/components/schemas/"
# The form apispec writes for a nullable reference in OpenAPI 3.0; generators read its
# `{type: object}` arm as an untyped dict, so it is rewritten (see _nullable_reference).
NULL_OBJECT = {"type": "object", "nullable": True}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "integer", "minimum": 1},
}
REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same "
    "Idempotency-Key (nothing new was done).",
    "schema": {"type": "string", "enum": ["true"]},
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
UNAVAILABLE = "A service Trustline depends on is briefly unavailable; nothing was changed."
VERBS = {"get": "get", "put": "replace", "patch": "update", "delete": "delete"}


def _singular(word: str) -> str:
    """`entries` → `entry`, `couples` → `couple` (the words of Trustline's paths)."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _is_plural(word: str) -> bool:
    return _singular(word) != word


def derive_operation_id(method: str, path: str) -> str:
    """The operationId a route gets unless it names its own: verb, then what it acts on.

    GET of a collection lists (`list_couple_agreements`), GET of one object or a singleton
    gets (`get_agreement`, `get_couple`), POST to a collection creates one
    (`create_couple_agreement`), POST to an action does it (`withdraw_agreement`), PUT
    replaces, PATCH updates, DELETE deletes. `me` reads `my` (`/me` itself `my_account`); ids
    are left out.
    """
    segments = [s for s in path.removeprefix(API_PREFIX).strip("/").split("/") if s]
    one = bool(segments) and segments[-1].startswith("{")
    words: list[str] = []
    for index, segment in enumerate(segments):
        if segment.startswith("{"):
            continue
        word = segment.split(".")[0].replace("-", "_")
        word = "my" if word == "me" else word
        before_id = index + 1 < len(segments) and segments[index + 1].startswith("{")
        words.append(_singular(word) if before_id else word)
    words = ["my", "account"] if words == ["my"] else words or ["root"]
    last = words[-1]
    if method == "get":
        verb = "list" if not one and _is_plural(last) else "get"
    elif method == "post" and not one:
        if _is_plural(last):
            return "_".join(["create", *words[:-1], _singular(last)])
        return "_".join([last, *words[:-2], *[_singular(w) for w in words[-2:-1]]])
    else:
        verb = VERBS.get(method, method)
    return "_".join([verb, *words])


def _nullable_reference(
    converter: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """A nullable nested schema as `allOf: [$ref], nullable: true`, not a union with `{}`."""
    any_of = ret.get("anyOf")
    if field.allow_none and isinstance(any_of, list) and NULL_OBJECT in any_of:
        del ret["anyOf"]
        return {"allOf": [s for s in any_of if s != NULL_OBJECT], "nullable": True}
    return {}


def _schema_names(node: Any) -> Iterator[str]:
    """The component schemas `node` refers to, directly."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value.removeprefix(SCHEMA_REF)
            elif key == "schema" and isinstance(value, str):
                yield value  # a schema named by its component name, resolved by apispec
            else:
                yield from _schema_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _schema_names(item)


def is_optional_output(field: ma.fields.Field) -> bool:
    """Whether a response may leave this field out (declared so, or never dumped)."""
    return bool(field.load_only or field.metadata.get("optional"))


def document_rate_limits(operation: dict[str, Any]) -> None:
    """RateLimit-Policy and RateLimit on the responses of a view wearing `reports_limits`."""
    if operation.pop(LIMITS_DOC, False):
        for response in operation.get("responses", {}).values():
            if isinstance(response, dict):
                response["headers"] = {**response.get("headers", {}), **LIMIT_FIELDS_DOC}


class ConventionsPlugin(BasePlugin):
    """Document Trustline's shared conventions on every operation."""

    def init_spec(self, spec: Any) -> None:
        """Register the bearer security scheme and the idempotency header."""
        self.spec = spec
        self.schemas: dict[str, Any] = {}
        self.response_schemas: set[str] = set()
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
        for plugin in spec.plugins:
            if isinstance(plugin, MarshmallowPlugin):
                plugin.converter.add_attribute_function(_nullable_reference)

    def schema_helper(self, name: str, definition: Any, **kwargs: Any) -> dict[str, Any] | None:
        """Remember each component's marshmallow schema; add a request schema's `EXAMPLE`."""
        schema = kwargs.get("schema")
        if schema is None:
            return None
        self.schemas[name] = schema
        example = getattr(schema, "EXAMPLE", None)
        return {"example": example} if example is not None else None

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        """Add ids, security, error responses, headers and `required` to each operation."""
        for method, operation in (operations or {}).items():
            self._name(method, path or "", operation)
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
            documented = {str(code) for code in responses}
            for status, name in errors.items():
                if status not in documented:
                    responses[int(status)] = name
            # Any request may meet a database that is briefly away (backend/errors.py).
            if "503" not in documented:
                responses[503] = {"description": UNAVAILABLE}
            for status, response in responses.items():
                if str(status)[:1] in "45" and isinstance(response, dict):
                    response.setdefault("content", {PROBLEM: {"schema": "Problem"}})
                    if str(status) in ("429", "503"):
                        # Every 429 says when to try again; most 503s do (backend/errors.py).
                        header = {**RETRY_AFTER, "required": str(status) == "429"}
                        response["headers"] = {"Retry-After": header, **response.get("headers", {})}
            document_rate_limits(operation)
            # Views that wear idempotency's takes_no_part leave this marker in their doc.
            takes_no_part = operation.pop(EXEMPT_DOC, False)
            if method == "post" and not takes_no_part:
                params = operation.setdefault("parameters", [])
                if "IdempotencyKey" not in params:
                    params.append("IdempotencyKey")
                for status, response in responses.items():
                    if str(status)[:1] == "2" and isinstance(response, dict):
                        headers = response.get("headers", {})
                        response["headers"] = {**headers, "Idempotent-Replayed": REPLAYED}
            for response in responses.values():
                if isinstance(response, dict):
                    self._require_output_fields(_schema_names(response.get("content", {})))

    def _name(self, method: str, path: str, operation: dict[str, Any]) -> None:
        """Give the operation its id: its own (`@blp.doc(operationId=...)`), or derived.

        A malformed or repeated id is left for tests/test_openapi_generators.py to refuse, rather
        than failing the app's start over its documentation.
        """
        operation_id = operation.get("operationId") or derive_operation_id(method, path)
        operation["operationId"] = operation_id

    def _require_output_fields(self, names: Iterator[str]) -> None:
        """Mark every field of these response schemas (and those they nest) required."""
        pending = list(names)
        while pending:
            name = pending.pop()
            component = self.spec.components.schemas.get(name)
            if name in self.response_schemas or component is None:
                continue
            self.response_schemas.add(name)
            pending.extend(_schema_names(component.get("properties", {})))
            if name not in self.schemas:
                continue
            properties = component.get("properties", {})
            fields = resolve_schema_instance(self.schemas[name]).fields
            always = [
                field.data_key or key
                for key, field in fields.items()
                if not is_optional_output(field) and (field.data_key or key) in properties
            ]
            required = list(component.get("required", []))
            required += [key for key in always if key not in required]
            if required:
                component["required"] = required
