"""Every error is application/problem+json, never an HTML page or a stack trace."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from backend.accounts.models import User
from backend.extensions import db
from tests.conftest import build_app
from tests.helpers import PASSWORD, assert_problem


def count_users() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def test_unknown_route_is_a_404_problem(client):
    body = assert_problem(client.get("/api/v1/nowhere"), 404)
    assert "<html" not in str(body).lower()


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.delete("/api/v1/auth/login")
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_body_over_one_mebibyte_is_413_and_creates_nothing(client):
    big = '{"email": "big@example.com", "password": "' + "x" * (1024 * 1024) + '"}'
    response = client.post("/api/v1/auth/register", data=big, content_type="application/json")
    assert_problem(response, 413)
    assert count_users() == 0


def test_malformed_json_is_a_400_problem(client):
    response = client.post(
        "/api/v1/auth/register", data='{"email": ', content_type="application/json"
    )
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]
    assert count_users() == 0


def test_non_json_body_is_a_415_problem(client):
    response = client.post("/api/v1/auth/register", data="email=a@b.c", content_type="text/plain")
    assert_problem(response, 415)


def test_unknown_field_is_rejected_by_name(client):
    response = client.post(
        "/api/v1/auth/register",
        json={
            "email": "a@example.com",
            "password": PASSWORD,
            "display_name": "A",
            "is_admin": True,
        },
    )
    body = assert_problem(response, 422, "is_admin")
    assert body["type"] == "/problems/validation-error"
    assert count_users() == 0


def test_each_bad_field_is_named(client):
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "not-an-email", "password": "short", "display_name": "", "role": "admin"},
    )
    assert_problem(response, 422, "email", "password", "display_name", "role")
    assert count_users() == 0


def test_a_json_array_body_is_a_422_problem(client):
    assert_problem(client.post("/api/v1/auth/register", json=["a"]), 422)


@pytest.fixture
def failing_app(migrated_app):
    app = build_app(migrated_app.config["SQLALCHEMY_DATABASE_URI"])

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_unexpected_error_is_a_500_problem_without_a_trace_and_is_logged(failing_app, caplog):
    caplog.set_level(logging.ERROR, logger="backend.errors")
    logging.getLogger("backend").propagate = True
    try:
        response = failing_app.test_client().get(
            "/api/v1/boom", headers={"X-Request-ID": "req-test-12345"}
        )
    finally:
        logging.getLogger("backend").propagate = False
    body = assert_problem(response, 500)
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "hunter2" not in text and "RuntimeError" not in text
    assert response.headers["X-Request-ID"] == "req-test-12345"
    assert body["request_id"] == "req-test-12345"
    assert any("req-test-12345" in record.getMessage() for record in caplog.records)


def test_every_response_carries_a_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first and second and first != second


def test_an_unsafe_incoming_request_id_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert response.headers["X-Request-ID"] != "bad id <script>"


def test_a_missing_body_where_one_is_required_is_a_400_problem(alice):
    body = assert_problem(alice.patch("/me"), 400, "body")
    assert "JSON object" in body["detail"]


def test_booleans_must_be_json_booleans(alice):
    assert_problem(
        alice.patch("/me", json={"discreet_notifications": 0}), 422, "discreet_notifications"
    )
    assert_problem(alice.patch("/me", json={"discreet_notifications": "yes"}), 422)
    assert alice.patch("/me", json={"discreet_notifications": False}).status_code == 200


def test_unknown_query_parameters_are_named(alice):
    assert_problem(alice.get("/me/notifications?colour=blue"), 422, "colour")
