"""openapi.yaml is generated from the code, valid, and documents errors and security."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

from backend import create_app
from backend.cli import render_openapi
from tests.conftest import TEST_SETTINGS

SPEC_FILE = Path(__file__).resolve().parent.parent / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def generated() -> str:
    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    with app.app_context():
        return render_openapi()


@pytest.fixture(scope="module")
def spec(generated) -> dict:
    return yaml.safe_load(generated)


def operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_committed_openapi_yaml_is_up_to_date(generated):
    committed = SPEC_FILE.read_text() if SPEC_FILE.exists() else ""
    assert committed == generated, "openapi.yaml is out of date: run `trustline openapi`"


def test_spec_is_valid_openapi(spec):
    validate(spec)


def test_every_operation_documents_security_and_errors(spec):
    for path, method, op in operations(spec):
        assert "security" in op, (path, method)
        codes = set(map(str, op["responses"]))
        assert {"400", "500"} <= codes, (path, method)
        if op["security"]:
            assert "401" in codes, (path, method)
        if method in ("post", "put", "patch"):
            assert {"413", "415", "422"} <= codes, (path, method)
        for code, response in op["responses"].items():
            if str(code)[0] in "45":
                ref = response.get("$ref", "")
                content = response.get("content", {})
                assert ref or "application/problem+json" in content, (path, method, code)


def test_every_post_accepts_an_idempotency_key_unless_it_takes_no_part(spec):
    from backend.idempotency.middleware import is_exempt

    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    urls = app.url_map.bind("localhost")
    for path, method, op in operations(spec):
        if method == "post":
            refs = [p.get("$ref", "") for p in op.get("parameters", [])]
            documented = "#/components/parameters/IdempotencyKey" in refs
            endpoint, _ = urls.match(path.replace("{", "").replace("}", ""), method="POST")
            assert documented != is_exempt(app.view_functions[endpoint], "POST"), path


def test_spec_security_matches_what_the_routes_enforce(app, client, spec):
    """An operation documented as public answers without a token; every other one asks for it."""
    for path, method, op in operations(spec):
        # Placeholders shaped like real ids (22 characters), which some routes require.
        url = re.sub(r"\{[^}]+\}", "x" * 22, path)
        response = client.open(url, method=method.upper(), json={} if method != "get" else None)
        if op["security"]:
            assert response.status_code == 401, (path, method, response.status_code)
        else:
            assert response.status_code != 401, (path, method)
