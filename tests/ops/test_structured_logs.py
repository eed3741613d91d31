"""Structured logs: with TRUSTLINE_LOG_FORMAT=json every line is one JSON object with the time,
level, logger, message and request id (and the route template, status and duration of each
request), and no line holds a body, a token, an e-mail or a name. Plain text stays the default.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from backend.config import ConfigError, load_config
from tests import clockshift
from tests.conftest import TEST_SETTINGS, build_app
from tests.helpers import PASSWORD, ApiClient, pair, pair_through_api, register
from tests.test_serve import free_port, start, stop, wait_until_up

EMAIL = "quillon.marsh@example.com"
NAME = "Quillonmarsh"
PARTNER_EMAIL = "ysolde.brack@example.com"
PARTNER_NAME = "Ysoldebrack"
BODY_MARKER = "zq7bodymarker"
QUERY_MARKER = "zq7querymarker"
RECORD_KEYS = {"time", "level", "logger", "message", "request_id"}
ACCESS_KEYS = {"method", "route", "status", "duration_ms"}


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the process's logging back as it was: a JSON app rewires the root logger."""
    root, backend = logging.getLogger(), logging.getLogger("backend")
    saved = (list(root.handlers), list(backend.handlers), backend.propagate, backend.level)
    levels = {name: logging.getLogger(name).level for name in ("alembic", "flask_migrate")}
    yield
    root.handlers[:], backend.handlers[:] = saved[0], saved[1]
    backend.propagate, backend.level = saved[2], saved[3]
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def own_handler(logger: logging.Logger) -> logging.StreamHandler:
    [handler] = [h for h in logger.handlers if h.name == "trustline"]
    assert isinstance(handler, logging.StreamHandler)
    return handler


def json_app(migrated_app: Flask, buffer: io.StringIO) -> Flask:
    """An app logging JSON into `buffer`, with Trustline's and SQLAlchemy's records on."""
    app = build_app(
        migrated_app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_LOG_FORMAT="json",
        TRUSTLINE_LOG_LEVEL="DEBUG",
    )
    own_handler(logging.getLogger()).setStream(buffer)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    return app


def parse_lines(text: str) -> list[dict[str, Any]]:
    """Every line, each a JSON object with the fields every record has."""
    lines = text.splitlines()
    assert lines, "nothing was logged"
    records = []
    for line in lines:
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert set(record) >= RECORD_KEYS, line
        assert record["time"].endswith("Z")
        datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
        records.append(record)
    return records


def assert_nothing_personal(text: str, *secrets: str) -> None:
    lowered = text.lower()
    for secret in secrets:
        assert secret.lower() not in lowered, secret


def test_every_line_a_request_writes_is_json_without_bodies_tokens_emails_or_names(
    app, migrated_app, restore_logging, monkeypatch
):
    buffer = io.StringIO()
    client = json_app(migrated_app, buffer).test_client()
    try:
        quillon = ApiClient(client, register(client, EMAIL, NAME))
        ysolde = ApiClient(client, register(client, PARTNER_EMAIL, PARTNER_NAME))
        couple = pair_through_api(quillon, ysolde)
        wrong = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": "nope nope"})
        assert wrong.status_code == 401
        entry = quillon.post("/me/journal", json={"text": f"{BODY_MARKER} and {NAME}"})
        assert entry.status_code == 201
        listed = quillon.get(f"/couple/timeline?limit=5&kinds={QUERY_MARKER}")
        assert listed.status_code == 422
        feed = quillon.post("/me/calendar-feeds", json={})
        feed_path = feed.get_json()["url"].split("://", 1)[1].split("/", 1)[1]
        assert client.get(f"/{feed_path}").status_code == 200
        # an error inside a view whose message quotes what was sent: logged by type only
        monkeypatch.setattr(
            "backend.safety.service.check_of",
            lambda user: (_ for _ in ()).throw(RuntimeError(f"{EMAIL} {BODY_MARKER}")),
        )
        assert quillon.get("/me", headers={"X-Request-ID": "req-json-12345"}).status_code == 500
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    text = buffer.getvalue()
    records = parse_lines(text)
    access = [r for r in records if r["logger"] == "backend.access"]
    assert len(access) >= 10
    for record in access:
        assert set(record) >= ACCESS_KEYS
        assert record["request_id"] and record["duration_ms"] >= 0
    routes = {(r["method"], r["route"], r["status"]) for r in access}
    assert ("POST", "/api/v1/auth/login", 401) in routes
    assert ("GET", "/api/v1/couple/timeline", 422) in routes
    assert ("GET", "/api/v1/calendar/<token>.ics", 200) in routes
    assert ("GET", "/api/v1/me", 500) in routes
    [failure] = [r for r in records if r["logger"] == "backend.errors"]
    assert failure["request_id"] == "req-json-12345" and "RuntimeError" in failure["exc_info"]
    assert any(r["logger"] == "sqlalchemy.engine.Engine" for r in records)
    feed_token = feed_path.rsplit("/", 1)[1].removesuffix(".ics")
    assert_nothing_personal(
        text,
        EMAIL,
        PARTNER_EMAIL,
        NAME,
        PARTNER_NAME,
        BODY_MARKER,
        QUERY_MARKER,
        PASSWORD,
        quillon.tokens["access_token"],
        quillon.tokens["refresh_token"],
        feed_token,
        couple["id"],
        entry.get_json()["id"],
    )


def test_plain_text_is_the_default_with_one_access_line_per_request(
    app, migrated_app, restore_logging
):
    plain = build_app(migrated_app.config["SQLALCHEMY_DATABASE_URI"])
    assert plain.config["TRUSTLINE_LOG_FORMAT"] == "text"
    buffer = io.StringIO()
    own_handler(logging.getLogger("backend")).setStream(buffer)
    response = plain.test_client().post(
        "/api/v1/auth/login", json={"email": EMAIL, "password": "nope nope"}
    )
    [line] = buffer.getvalue().splitlines()
    request_id = response.headers["X-Request-ID"]
    assert f"INFO [{request_id}] backend.access: POST /api/v1/auth/login 401 " in line
    assert EMAIL not in line


def test_an_unknown_log_format_is_refused_naming_the_setting(migrated_app):
    with pytest.raises(ConfigError, match="TRUSTLINE_LOG_FORMAT"):
        load_config({"TRUSTLINE_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="TRUSTLINE_LOG_FORMAT"):
        build_app(migrated_app.config["SQLALCHEMY_DATABASE_URI"], TRUSTLINE_LOG_FORMAT="yaml")
    assert load_config({"TRUSTLINE_LOG_FORMAT": " JSON "})["TRUSTLINE_LOG_FORMAT"] == "json"


def trustline_env(app: Flask, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRUSTLINE_")}
    return {
        **env,
        "TRUSTLINE_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "TRUSTLINE_SECRET_KEY": TEST_SETTINGS["SECRET_KEY"],
        **extra,
    }


def test_every_line_of_a_tick_is_json_without_names_or_emails(app, tmp_path):
    quillon = ApiClient(app.test_client(), register(app.test_client(), EMAIL, NAME))
    ysolde = ApiClient(app.test_client(), register(app.test_client(), PARTNER_EMAIL, PARTNER_NAME))
    pair(quillon, ysolde)
    schedule = quillon.post(
        "/couple/schedules",
        json={"prompt_set": "daily_pulse", "frequency": "daily", "local_time": "21:00"},
    ).get_json()
    due = datetime.fromisoformat(schedule["next_due_at"].replace("Z", "+00:00"))
    moment = (due + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S%z")
    ticked = subprocess.run(
        clockshift.command("trustline", "tick", "--at", moment),
        cwd=tmp_path,
        env=trustline_env(app, TRUSTLINE_LOG_FORMAT="json", TRUSTLINE_LOG_LEVEL="DEBUG"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    records = parse_lines(ticked.stdout + ticked.stderr)
    [report] = [r for r in records if r["logger"] == "backend.cli"]
    assert report["opened"] == 1 and report["missed"] == 0 and report["duration_ms"] >= 0
    assert all(r["request_id"] is None for r in records)
    assert_nothing_personal(ticked.stdout + ticked.stderr, EMAIL, PARTNER_EMAIL, NAME, PARTNER_NAME)


def test_a_command_with_an_unknown_log_format_stops_naming_it(app, tmp_path):
    refused = subprocess.run(
        clockshift.command("trustline", "tick"),
        cwd=tmp_path,
        env=trustline_env(app, TRUSTLINE_LOG_FORMAT="xml"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0
    assert "TRUSTLINE_LOG_FORMAT" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_trustline_serve_writes_only_json_and_never_the_raw_path(tmp_path: Path):
    port = free_port()
    env = {"TRUSTLINE_LOG_FORMAT": "json", "TRUSTLINE_SECRET_KEY": "w" * 40}
    server = start(tmp_path, "--port", str(port), "--no-scheduler", env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/readyz", server)
        token = "zq7feedtoken" + "A" * 20
        url = f"http://127.0.0.1:{port}/api/v1/calendar/{token}.ics?q={QUERY_MARKER}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 404
    finally:
        stop(server)
    output = server.stdout.read() if server.stdout else ""
    records = parse_lines(output)
    assert any(
        r.get("route") == "/api/v1/calendar/<token>.ics" and r.get("status") == 404 for r in records
    )
    # the server's own records (gunicorn's banner) are JSON too; its request line is not written
    assert any(r["logger"].startswith("gunicorn") for r in records)
    assert not any(
        r["logger"].startswith("gunicorn") and "/api/v1/" in r["message"] for r in records
    )
    assert_nothing_personal(output, token, QUERY_MARKER)


def test_gunicorns_own_records_are_json_and_its_access_line_gives_way(monkeypatch, capsys):
    from gunicorn.config import Config

    from backend.logs import GunicornLogger, JsonFormatter, TextFormatter

    monkeypatch.setenv("TRUSTLINE_LOG_FORMAT", "json")
    config = Config()
    config.set("accesslog", "-")
    logger = GunicornLogger(config)
    assert all(isinstance(h.formatter, JsonFormatter) for h in logger.error_log.handlers)
    logger.info("Booting worker with pid: %s", 42)
    logger.access(None, None, {}, None)  # nothing to read: it writes no line in JSON mode
    [line] = capsys.readouterr().err.splitlines()
    assert json.loads(line)["message"] == "Booting worker with pid: 42"
    monkeypatch.setenv("TRUSTLINE_LOG_FORMAT", "text")
    plain = GunicornLogger(config)
    assert not any(
        isinstance(h.formatter, (JsonFormatter, TextFormatter)) for h in plain.error_log.handlers
    )
