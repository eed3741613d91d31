"""Liveness and readiness."""

from __future__ import annotations

from tests.conftest import build_app
from tests.helpers import assert_problem


def test_healthz_answers_without_a_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_the_database_reachable(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "ratelimit_store": "ok"}


def test_readyz_is_503_problem_when_the_database_is_unreachable():
    app = build_app("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    response = app.test_client().get("/readyz")
    body = assert_problem(response, 503)
    assert "database" in body["detail"]
    assert response.headers["X-Request-ID"] == body["request_id"]
