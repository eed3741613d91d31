"""Hostile input gets a 4xx problem naming the field, on every operation and database.

The operations come from the app's own OpenAPI document, so an endpoint added later is covered
without editing this file. Each operation is called as a paired partner and anonymously, with
path ids of real objects (so a request would reach the code behind the scope checks):

- DEEP_ARRAYS and DEEP_OBJECTS (about 6 KB, far deeper than the decoder's recursion limit) as
  the body of every operation: 400 naming `body`;
- LONE_SURROGATE and NUL_TEXT in each string field of each request body (nested ones too,
  e.g. `answers.0.value`): 422 naming that field's dotted path;
- NUL_TEXT in each query parameter: 422 naming the parameter; SURROGATE_BYTES (the UTF-8 form
  of a surrogate, which no decoder accepts) in each query parameter: some 4xx;
- NUL_TEXT in each path id: 404;
- NUL and the Latin-1 reading of a surrogate's bytes in the Authorization and Idempotency-Key
  headers, anonymously: no 5xx.

Nothing is written by any of them (row counts of every table are unchanged), and the answers
are the same on SQLite and PostgreSQL (they are compared with fixed expected bodies).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from backend.extensions import db
from backend.fields import NUL_MESSAGE, SURROGATE_MESSAGE
from backend.http import MAX_JSON_DEPTH, json_depth
from tests.conftest import TEST_SETTINGS
from tests.helpers import PROBLEM, ApiClient, assert_problem

DEEP_ARRAYS = "[" * 3000 + "]" * 3000
DEEP_OBJECTS = '{"a":' * 1000 + "0" + "}" * 1000
LONE_SURROGATE = "\ud800"
NUL_TEXT = "before\x00after"
NUL_QUERY = "%00"
SURROGATE_BYTES = "%ED%A0%80"
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Operation:
    """One operation of the OpenAPI document and what it takes."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    string_fields: list[str] = field(default_factory=list)
    query: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _spec() -> dict[str, Any]:
    from backend import create_app

    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    return app.test_client().get("/api/v1/openapi.json").get_json()


SPEC = _spec()


def resolve(node: Any) -> Any:
    """Follow `$ref`s (and merge `allOf`) within the spec."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    if isinstance(node, dict) and "allOf" in node:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in map(resolve, node["allOf"]):
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return node


def example(schema: Any) -> Any:
    """A plausible value of `schema` (required properties only), so a body looks well-formed."""
    schema = resolve(schema)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example(properties[name]) for name in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items", {}))]
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2031-01-15"
    if schema.get("format") == "date-time":
        return "2031-01-15T12:00:00Z"
    return "x" * max(1, schema.get("minLength", 1))


def string_fields(schema: Any, prefix: str = "") -> Iterator[str]:
    """Dotted paths of every field that can hold a string (any-typed fields included)."""
    schema = resolve(schema)
    kind = schema.get("type")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from string_fields(sub, f"{prefix}.{name}" if prefix else name)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            yield from string_fields(extra, f"{prefix}.key" if prefix else "key")
    elif kind == "array":
        yield from string_fields(schema.get("items", {}), f"{prefix}.0")
    elif kind in (None, "string"):
        yield prefix


def with_value(base: Any, path: str, value: Any) -> Any:
    """A copy of `base` with `value` at the dotted `path`, creating what is missing."""
    body = json.loads(json.dumps(base))
    node = body
    parts = path.split(".")
    for part, following in pairwise(parts):
        empty: Any = [] if following.isdigit() else {}
        if isinstance(node, list):
            while len(node) <= int(part):
                node.append(empty)
            if not isinstance(node[int(part)], list | dict):
                node[int(part)] = empty
            node = node[int(part)]
        else:
            if not isinstance(node.get(part), list | dict):
                node[part] = empty
            node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        while len(node) <= int(last):
            node.append(None)
        node[int(last)] = value
    else:
        node[last] = value
    return body


def operations() -> list[Operation]:
    """Every operation of the app's OpenAPI document."""
    found = []
    for path, item in SPEC["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method not in METHODS:
                continue
            op = Operation(method.upper(), path)
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema:
                op.body = example(schema)
                op.string_fields = list(string_fields(schema))
            for parameter in map(resolve, shared + operation.get("parameters", [])):
                if parameter["in"] == "query":
                    op.query.append(parameter["name"])
            found.append(op)
    return found


OPERATIONS = operations()


@pytest.fixture
def callers(app, alice, one_of_everything) -> dict[str, Any]:
    """Who calls (Alice, paired, and nobody), and real ids for the paths."""
    return {
        "roles": {"partner": alice, "anonymous": ApiClient(app.test_client())},
        "ids": one_of_everything,
    }


def url_of(op: Operation, ids: dict[str, str], override: str | None = None) -> str:
    """The operation's URL with real ids (or `override`, already escaped, for each id)."""

    def replace(match: re.Match) -> str:
        return override if override is not None else ids.get(match.group(1), "unknown-id")

    return re.sub(r"\{([^}]+)\}", replace, op.path)


def row_counts() -> dict[str, int]:
    """Rows in every table."""
    db.session.rollback()
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def send(client: ApiClient, op: Operation, url: str, body: str | None = None):
    """Call the operation with a raw JSON text as the body."""
    return client.request(op.method, url, data=body, content_type="application/json")


def problem_of(response, status: int) -> dict[str, Any] | None:
    """The problem body if `response` is a problem of `status`, else None."""
    if response.status_code != status or response.mimetype != PROBLEM:
        return None
    return response.get_json()


def check_all(callers, cases) -> None:
    """Run (op, role, call, expect) cases; fail listing every case that did not hold."""
    before = row_counts()
    failures = []
    sent = 0
    for op, call, expect in cases:
        for role, client in callers["roles"].items():
            sent += 1
            response = call(client)
            assert response.status_code < 500, f"{role} {op}: {response.get_data(as_text=True)}"
            if not expect(response):
                failures.append(f"{role} {op}: {response.status_code} {response.get_json()}")
    assert not failures, "\n".join(failures)
    assert sent
    assert row_counts() == before


def test_the_walk_finds_every_kind_of_input():
    by_name = {str(op): op for op in OPERATIONS}
    assert len(OPERATIONS) >= 60
    assert "password" in by_name["POST /api/v1/auth/register"].string_fields
    assert "refresh_token" in by_name["POST /api/v1/auth/refresh"].string_fields
    assert "answers.0.value" in by_name["PUT /api/v1/checkins/{checkin_id}/answers"].string_fields
    assert "items.0.text" in by_name["POST /api/v1/couple/agreements"].string_fields
    assert "roles.key" in by_name["POST /api/v1/couple/conversations"].string_fields
    assert "cursor" in by_name["GET /api/v1/couple/timeline"].query
    assert len(DEEP_ARRAYS) == 6000 and len(DEEP_OBJECTS) == 6001


@pytest.mark.parametrize("body", [DEEP_ARRAYS, DEEP_OBJECTS], ids=["arrays", "objects"])
def test_deeply_nested_bodies_are_refused_on_every_operation(callers, body):
    ids = callers["ids"]

    def names_the_body(response) -> bool:
        problem = problem_of(response, 400)
        return bool(problem) and list(problem["errors"]) == ["body"]

    check_all(
        callers,
        [
            (op, lambda client, op=op: send(client, op, url_of(op, ids), body), names_the_body)
            for op in OPERATIONS
        ],
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [(LONE_SURROGATE, SURROGATE_MESSAGE), (NUL_TEXT, NUL_MESSAGE)],
    ids=["lone-surrogate", "nul"],
)
def test_every_string_field_refuses_text_that_cannot_be_stored(callers, value, message):
    ids = callers["ids"]
    cases = []
    for op in OPERATIONS:
        for path in op.string_fields:
            # Escaped as JSON allows (\ud800, \u0000): the decoder is what makes them text.
            body = json.dumps(with_value(op.body, path, value))

            def names_the_field(response, path=path) -> bool:
                problem = problem_of(response, 422)
                return bool(problem) and problem["errors"] == {path: [message]}

            cases.append(
                (
                    f"{op} {path}",
                    lambda client, op=op, body=body: send(client, op, url_of(op, ids), body),
                    names_the_field,
                )
            )
    assert len(cases) >= 50
    check_all(callers, cases)


def test_every_query_parameter_refuses_nul(callers):
    ids = callers["ids"]
    cases = []
    for op in OPERATIONS:
        for name in op.query:

            def names_the_parameter(response, name=name) -> bool:
                problem = problem_of(response, 422)
                return bool(problem) and problem["errors"] == {name: [NUL_MESSAGE]}

            url = f"{url_of(op, ids)}?{name}=a{NUL_QUERY}b"
            cases.append(
                (
                    f"{op} ?{name}",
                    lambda client, op=op, url=url: send(client, op, url),
                    names_the_parameter,
                )
            )
    assert len(cases) >= 15
    check_all(callers, cases)


def test_every_query_parameter_survives_the_bytes_of_a_surrogate(callers):
    # Werkzeug decodes query strings leniently (U+FFFD for bytes that aren't UTF-8), so
    # these reach validation as ordinary text: any answer but a 5xx will do.
    ids = callers["ids"]
    cases = []
    for op in OPERATIONS:
        for name in op.query:
            url = f"{url_of(op, ids)}?{name}={SURROGATE_BYTES}"
            cases.append(
                (
                    f"{op} ?{name}",
                    lambda client, op=op, url=url: send(client, op, url),
                    lambda response: response.status_code < 500,
                )
            )
    check_all(callers, cases)


def test_a_path_id_holding_nul_names_nothing(callers):
    cases = [
        (
            op,
            lambda client, op=op: send(client, op, url_of(op, {}, override=quote("id\x00"))),
            lambda response: problem_of(response, 404) is not None,
        )
        for op in OPERATIONS
        if "{" in op.path
    ]
    assert len(cases) >= 20
    check_all(callers, cases)


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer a\x00b", "Idempotency-Key": "key\x00"},
        # A header can't carry a surrogate; these are its UTF-8 bytes, read as Latin-1.
        {"Authorization": "Bearer \xed\xa0\x80", "Idempotency-Key": "\xed\xa0\x80"},
    ],
    ids=["nul", "surrogate-bytes"],
)
def test_hostile_headers_get_no_server_error(app, callers, headers):
    stranger = ApiClient(app.test_client())
    ids = callers["ids"]
    check_all(
        {"roles": {"anonymous": stranger}},
        [
            (
                op,
                lambda client, op=op: client.request(op.method, url_of(op, ids), headers=headers),
                lambda response: 400 <= response.status_code < 500 or response.status_code < 300,
            )
            for op in OPERATIONS
        ],
    )


def test_a_nul_or_surrogate_in_a_field_name_is_refused(alice):
    for key in ("a\x00b", "\udc00"):
        body = json.dumps({"text": "fine", "nested": {key: 1}, key: 2})
        response = alice.post("/me/journal", data=body, content_type="application/json")
        problem = assert_problem(response, 422, "body", "nested")
        assert key not in json.dumps(problem, ensure_ascii=False)
    assert alice.get("/me/journal").get_json()["items"] == []


def test_depth_is_counted_in_structure_not_in_strings():
    assert json_depth(b'{"a": "[[[[[[ \\" [[[ \\\\", "b": [[1]]}') == 3
    assert json_depth(b'"{{{{"') == 0
    assert json_depth(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) == MAX_JSON_DEPTH


def test_nesting_up_to_the_limit_reaches_the_schema(alice):
    nested: Any = "deep"
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    response = alice.post("/me/journal", json={"text": "fine", "extra": nested})
    assert_problem(response, 422, "extra")  # an unknown field, not a nesting problem
    deeper = alice.post("/me/journal", json={"text": "fine", "extra": [nested]})
    assert assert_problem(deeper, 400, "body")["detail"].startswith("The request body nests")


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1" * 5000], ids=["nan", "inf", "-inf", "digits"]
)
def test_numbers_json_does_not_have_are_refused(alice, number):
    body = '{"text": "fine", "extra": ' + number + "}"
    response = alice.post("/me/journal", data=body, content_type="application/json")
    assert_problem(response, 400, "body")
    assert alice.get("/me/journal").get_json()["items"] == []


def test_paired_surrogates_are_ordinary_text(alice):
    # "\ud83d\ude0a" is how JSON escapes one emoji: a pair, valid Unicode, stored as such.
    body = '{"text": "Better today \\ud83d\\ude0a"}'
    response = alice.post("/me/journal", data=body, content_type="application/json")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["text"] == "Better today \U0001f60a"


def test_a_cursor_holding_nul_is_refused(alice):
    import base64

    for row_id in ("\x00", "\ud800"):
        raw = json.dumps(["2031-01-15T12:00:00+00:00", row_id]).encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        assert_problem(alice.get(f"/me/journal?cursor={cursor}"), 422, "cursor")
