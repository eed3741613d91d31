"""openapi.yaml is pleasant for client generators: every rule walks the whole spec, so a route
or schema added later is held to it too (the conventions come from backend/openapi.py)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import pytest
import yaml

from backend import create_app
from backend.cli import render_openapi
from backend.openapi import ConventionsPlugin, is_optional_output
from tests.conftest import TEST_SETTINGS

METHODS = ("get", "post", "put", "patch", "delete")
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
SCHEMAS = "#/components/schemas/"


@pytest.fixture(scope="module")
def built() -> tuple[dict[str, Any], ConventionsPlugin]:
    """The spec of this code, and the plugin that wrote it (it knows each schema's fields)."""
    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    with app.app_context():
        spec = yaml.safe_load(render_openapi())
    api_spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec
    plugin = next(p for p in api_spec.plugins if isinstance(p, ConventionsPlugin))
    return spec, plugin


@pytest.fixture(scope="module")
def spec(built) -> dict[str, Any]:
    return built[0]


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def refs(node: Any) -> Iterator[str]:
    """Names of the component schemas `node` refers to, directly."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and value.startswith(SCHEMAS):
                yield value.removeprefix(SCHEMAS)
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def reachable(spec: dict[str, Any], roots: Iterator[str]) -> set[str]:
    schemas = spec["components"]["schemas"]
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(refs(schemas[name]))
    return seen


def response_schemas(spec: dict[str, Any]) -> set[str]:
    components = spec["components"].get("responses", {})
    roots = []
    for _, _, op in operations(spec):
        for response in op["responses"].values():
            name = response.get("$ref", "").rsplit("/", 1)[-1]
            roots += refs(components.get(name, response))
    return reachable(spec, iter(roots))


def request_schemas(spec: dict[str, Any]) -> set[str]:
    roots = [name for _, _, op in operations(spec) for name in refs(op.get("requestBody", {}))]
    return reachable(spec, iter(roots))


def test_every_operation_has_a_unique_snake_case_operation_id(spec):
    ids = defaultdict(list)
    for path, method, op in operations(spec):
        assert SNAKE_CASE.match(op.get("operationId", "")), (method, path, op.get("operationId"))
        ids[op["operationId"]].append(f"{method} {path}")
    assert {i: where for i, where in ids.items() if len(where) > 1} == {}


def test_named_operations_read_as_documented_in_the_api_guide(spec):
    named = {op["operationId"]: f"{method} {path}" for path, method, op in operations(spec)}
    assert named["save_checkin_answers"] == "put /api/v1/checkins/{checkin_id}/answers"
    assert named["list_couple_timeline"] == "get /api/v1/couple/timeline"
    assert named["get_agreement"] == "get /api/v1/agreements/{agreement_id}"
    assert named["create_couple_agreement"] == "post /api/v1/couple/agreements"
    assert named["consent_to_agreement"] == "post /api/v1/agreements/{agreement_id}/consent"


def test_no_schema_is_both_a_request_and_a_response(spec):
    # A response schema marks every field required; a request one only what must be sent.
    assert request_schemas(spec) & response_schemas(spec) == set()


def test_every_response_field_is_required_unless_declared_optional(built):
    spec, plugin = built
    schemas = spec["components"]["schemas"]
    for name in response_schemas(spec):
        component = schemas[name]
        properties = component.get("properties", {})
        assert not properties or component.get("required"), name
        schema = plugin.schemas[name]
        instance = schema if isinstance(schema, ma.Schema) else schema()
        optional = {
            field.data_key or key
            for key, field in instance.fields.items()
            if is_optional_output(field)
        }
        assert set(properties) - set(component["required"]) == optional & set(properties), name


def nested_properties(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of every component schema, items of arrays included."""
    for name, schema in spec["components"]["schemas"].items():
        for prop, value in (schema.get("properties") or {}).items():
            yield f"{name}.{prop}", value
            if value.get("type") == "array" and isinstance(value.get("items"), dict):
                yield f"{name}.{prop}[]", value["items"]


def test_nested_objects_are_typed_and_nullable_ones_say_so(spec):
    for where, value in nested_properties(spec):
        # apispec's OpenAPI 3.0 form {anyOf: [{type: object, nullable}, $ref]} is an untyped dict
        # to a generator; the plugin writes {allOf: [$ref], nullable: true} instead.
        assert {"type": "object", "nullable": True} not in value.get("anyOf", []), where
        if value.get("type") == "object" and not value.get("properties"):
            values = value.get("additionalProperties")
            assert isinstance(values, dict), f"{where} is an object of unknown shape"
        if "allOf" in value:
            assert [list(s) for s in value["allOf"]] == [["$ref"]], where


def test_nullable_nested_objects_are_a_model_or_null(spec):
    partner = spec["components"]["schemas"]["Checkin"]["properties"]["partner"]
    assert partner == {"allOf": [{"$ref": SCHEMAS + "PartnerResponse"}], "nullable": True}
    step = spec["components"]["schemas"]["Conversation"]["properties"]["current_step"]
    assert step == {"allOf": [{"$ref": SCHEMAS + "CurrentStep"}], "nullable": True}


def pascal(value: str) -> str:
    """openapi-python-client's PascalCase (strings.pascal_case): words split at . _ - space."""
    value = "".join(c for c in value if c.isidentifier() or c.isdecimal() or c in "._- ")
    if any(c.isupper() for c in value):
        value = " ".join(re.split("([A-Z]?[a-z]+)", value))
    words = re.findall(r"[^._\- ]+", value)
    return "".join(w if w.isupper() else w.capitalize() for w in words)


def classes_of(schema: dict[str, Any], name: str, parent: str) -> Iterator[str]:
    """The classes a generator makes for `schema` under `parent`, as openapi-python-client names
    them: an inline enum or object is Parent+Name; array items add `_item`, union members
    `_type_<i>`; a reference (or a union of one reference) makes none."""
    if "$ref" in schema:
        return
    members = schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", [])
    if len(members) == 1 and "$ref" in members[0]:
        return
    if schema.get("enum"):
        yield pascal(parent) + pascal(name)
    elif schema.get("anyOf") or schema.get("oneOf"):
        for index, member in enumerate(schema.get("anyOf", []) + schema.get("oneOf", [])):
            yield from classes_of(member, f"{name}_type_{index}", parent)
    elif schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        yield from classes_of(schema["items"], f"{name}_item", parent)
    elif schema.get("type") == "object" or schema.get("properties"):
        model = pascal(parent) + pascal(name)
        yield model
        for prop, value in (schema.get("properties") or {}).items():
            yield from classes_of(value, prop, model)
        if isinstance(schema.get("additionalProperties"), dict):
            yield from classes_of(schema["additionalProperties"], "additional_property", model)


def generated_class_names(spec: dict[str, Any]) -> list[str]:
    names = []
    for name, schema in spec["components"]["schemas"].items():
        names.append(pascal(name))
        for prop, value in (schema.get("properties") or {}).items():
            names += list(classes_of(value, prop, name))
        if isinstance(schema.get("additionalProperties"), dict):
            names += list(classes_of(schema["additionalProperties"], "additional_property", name))
    for _, _, op in operations(spec):
        for param in op.get("parameters", []):
            if "schema" in param:
                names += list(classes_of(param["schema"], param["name"], op["operationId"]))
    return names


def test_no_two_schemas_generate_the_same_model_name(spec):
    names = generated_class_names(spec)
    assert "SafetyCheckAnswers" in names  # SafetyCheck.answers, no longer a schema's name too
    assert [name for name in set(names) if names.count(name) > 1] == []


# Names openapi-python-client's own modules import beside the models (`types.Response`,
# `File`, `Unset`, the clients, typing's): a model of the same name shadows it, and the operation
# module fails to import (`Response[...]`: a model is not subscriptable).
NAMES_THE_PYTHON_CLIENT_KEEPS = {
    "Any",
    "AuthenticatedClient",
    "BinaryIO",
    "Client",
    "File",
    "FileTypes",
    "HTTPStatus",
    "Response",
    "TextIO",
    "TypeVar",
    "Unset",
}


def test_no_model_takes_a_name_the_generated_python_client_keeps(spec):
    assert set(generated_class_names(spec)) & NAMES_THE_PYTHON_CLIENT_KEEPS == set()
    assert "MeasureResponse" in generated_class_names(spec)  # a measure's response, named so


def test_the_collision_check_sees_the_collision_the_issue_reported():
    spec = {
        "paths": {},
        "components": {
            "schemas": {
                "SafetyCheck": {
                    "type": "object",
                    "properties": {
                        "answers": {"type": "object", "additionalProperties": {"type": "string"}}
                    },
                },
                "SafetyCheckAnswers": {"type": "object", "properties": {}},
            }
        },
    }
    names = generated_class_names(spec)
    assert names.count("SafetyCheckAnswers") == 2


def test_list_query_parameters_are_exploded_arrays(spec):
    lists = []
    for path, method, op in operations(spec):
        for param in op.get("parameters", []):
            if param.get("in") == "query" and param["schema"].get("type") == "array":
                assert (param.get("style"), param.get("explode")) == ("form", True), (path, param)
                lists.append((method, path, param["name"]))
    assert ("get", "/api/v1/couple/timeline", "kinds") in lists


def test_every_request_body_has_an_example_its_schema_accepts(built):
    spec, plugin = built
    for path, method, op in operations(spec):
        body = op.get("requestBody")
        if not body:
            continue
        for media in body["content"].values():
            (name,) = refs(media["schema"])
            example = media.get("example", spec["components"]["schemas"][name].get("example"))
            assert example is not None, (method, path, name)
            schema = plugin.schemas[name]
            instance = schema if isinstance(schema, ma.Schema) else schema()
            assert instance.validate(example) == {}, (method, path, name)


def test_every_error_response_is_problem_json(spec):
    components = spec["components"]["responses"]
    for path, method, op in operations(spec):
        for status, response in op["responses"].items():
            if str(status)[0] not in "45":
                continue
            response = (
                components[response["$ref"].rsplit("/", 1)[-1]] if "$ref" in response else response
            )
            content = response.get("content", {})
            assert list(content) == ["application/problem+json"], (method, path, status)
            assert content["application/problem+json"]["schema"] == {"$ref": SCHEMAS + "Problem"}
    assert set(spec["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
    }


def test_429_and_503_say_when_to_try_again(spec):
    for path, method, op in operations(spec):
        assert "503" in map(str, op["responses"]), (method, path)
        for status, response in op["responses"].items():
            if str(status) in ("429", "503"):
                header = response["headers"]["Retry-After"]
                assert header["schema"]["type"] == "integer"
                assert header["required"] is (str(status) == "429")


def test_agreement_responses_carry_an_etag_header_and_field(spec):
    agreement = spec["components"]["schemas"]["Agreement"]
    assert "etag" in agreement["required"]
    for path, method, op in operations(spec):
        for status, response in op["responses"].items():
            content = response.get("content", {}).get("application/json", {})
            if content.get("schema") == {"$ref": SCHEMAS + "Agreement"}:
                assert response["headers"]["ETag"]["required"] is True, (method, path, status)
    versions = spec["paths"]["/api/v1/agreements/{agreement_id}/versions"]["post"]
    if_match = [p for p in versions["parameters"] if p.get("name") == "If-Match"]
    assert if_match and if_match[0]["in"] == "header" and if_match[0]["required"] is True


def test_posts_that_take_part_in_idempotency_say_when_a_response_is_replayed(spec):
    for path, method, op in operations(spec):
        takes_part = {"$ref": "#/components/parameters/IdempotencyKey"} in op.get("parameters", [])
        for status, response in op["responses"].items():
            if str(status).startswith("2"):
                replayed = "Idempotent-Replayed" in response.get("headers", {})
                assert replayed == takes_part, (method, path, status)
