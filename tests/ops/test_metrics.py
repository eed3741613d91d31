"""GET /metrics: route templates (never ids) as labels, served only where TRUSTLINE_METRICS
allows, and the tick, push and rate-limit counts. (Workers adding up: test_deployment.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families

from backend import metrics
from backend.cli import main
from backend.extensions import db
from backend.ids import new_id
from backend.notifications import service as notifications
from tests.helpers import ok_text

MONDAY_NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def scrape(app, client, monkeypatch):
    """Read one sample from /metrics (0 when absent), with metrics served to loopback."""
    monkeypatch.setitem(app.config, "TRUSTLINE_METRICS", "local")

    def read(name: str, **labels: str) -> float:
        response = client.get("/metrics")
        assert response.status_code == 200
        for family in text_string_to_metric_families(response.get_data(as_text=True)):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return sample.value
        return 0.0

    return read


def test_a_request_is_counted_under_its_route_template_not_its_path(alice, scrape, client):
    alice.login()
    route = "/api/v1/checkins/<checkin_id>"
    # The process's counters may hold earlier tests' requests (any order, any worker): each
    # sample is read by all its labels, before and after.
    labels = {"method": "GET", "route": route, "status": "404"}
    before = scrape("trustline_http_requests_total", **labels)
    timed_before = scrape("trustline_http_request_duration_seconds_count", **labels)
    unknown = new_id()
    assert alice.get(f"/checkins/{unknown}").status_code == 404
    assert alice.get(f"/checkins/{new_id()}").status_code == 404
    assert scrape("trustline_http_requests_total", **labels) == before + 2
    assert scrape("trustline_http_request_duration_seconds_count", **labels) == timed_before + 2
    text = client.get("/metrics").get_data(as_text=True)
    assert unknown not in text
    assert alice.user["id"] not in text and "alice" not in text.lower()


def test_a_path_that_matches_no_route_is_not_quoted(scrape, client):
    client.get("/no-such-place/a-secret-looking-thing")
    text = client.get("/metrics").get_data(as_text=True)
    assert "a-secret-looking-thing" not in text
    assert scrape("trustline_http_requests_total", route=metrics.UNMATCHED, status="404") >= 1


def test_no_id_sent_in_a_path_or_a_query_reaches_a_label(app, alice, bob, couple, scrape, client):
    sent = [new_id() for _ in range(3)]
    alice.get(f"/couple/timeline?cursor={sent[0]}")
    bob.get(f"/schedules/{sent[1]}")
    client.get(f"/metrics?cursor={sent[2]}")
    text = client.get("/metrics").get_data(as_text=True)
    labels = [
        value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        for value in sample.labels.values()
    ]
    for value in labels:
        assert not any(id_ in value for id_ in sent), value
        assert couple["id"] not in value and alice.user["id"] not in value
    assert "/api/v1/schedules/<schedule_id>" in labels


def unknown_address(client, **kwargs):
    return client.get("/nowhere-at-all", **kwargs)


def test_off_answers_exactly_as_an_unknown_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTLINE_METRICS", "off")
    refused, unknown = client.get("/metrics"), unknown_address(client)
    assert refused.status_code == unknown.status_code == 404
    assert refused.content_type == unknown.content_type
    assert {**refused.get_json(), "request_id": "-"} == {**unknown.get_json(), "request_id": "-"}
    assert "Allow" not in refused.headers


def test_unset_is_off_where_the_server_is_unknown(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTLINE_METRICS", None)
    assert client.get("/metrics").status_code == 404


def test_local_serves_loopback_clients_only_and_none_through_a_proxy(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTLINE_METRICS", "local")
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    assert client.get("/metrics", environ_base=REMOTE).status_code == 404
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 404
    assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"}).status_code == 404


def test_on_serves_anyone_but_only_to_get(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTLINE_METRICS", "on")
    response = client.get("/metrics", environ_base=REMOTE)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "trustline_http_requests_total" in response.get_data(as_text=True)
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        refused = client.open("/metrics", method=method, environ_base=REMOTE)
        assert refused.status_code == 404, method
        assert "Allow" not in refused.headers


def test_the_default_follows_the_listening_address():
    assert metrics.default_mode("127.0.0.1") == "local"
    assert metrics.default_mode("localhost") == "local"
    assert metrics.default_mode("::1") == "local"
    assert metrics.default_mode("0.0.0.0") == "off"  # noqa: S104
    assert metrics.default_mode("192.0.2.10") == "off"
    assert metrics.default_mode(None) == "off"


def test_metrics_are_not_in_the_api_spec(app):
    spec = app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    assert "/metrics" not in spec["paths"]


def test_trustline_tick_counts_its_run_and_what_it_did(app, alice, bob, couple, scrape):
    with time_machine.travel(MONDAY_NOON, tick=False):
        response = alice.login().post(
            "/couple/schedules",
            json={
                "prompt_set": "daily_pulse",
                "frequency": "daily",
                "local_time": "19:00",
                "timezone": "UTC",
            },
        )
    assert response.status_code == 201
    runs = scrape("trustline_tick_runs_total", outcome="ok")
    opened = scrape("trustline_tick_items_total", kind="opened")
    claimed = scrape("trustline_tick_items_total", kind="claimed")
    timed = scrape("trustline_tick_duration_seconds_count")
    moment = (MONDAY_NOON + timedelta(hours=7, minutes=1)).isoformat()
    result = app.test_cli_runner().invoke(main, ["tick", "--at", moment])
    assert result.exit_code == 0, result.output
    assert "opened 1" in result.output
    assert scrape("trustline_tick_runs_total", outcome="ok") == runs + 1
    assert scrape("trustline_tick_items_total", kind="opened") == opened + 1
    assert scrape("trustline_tick_items_total", kind="claimed") == claimed + 1
    assert scrape("trustline_tick_last_run_items", kind="opened") == 1
    assert scrape("trustline_tick_last_run_items", kind="missed") == 0
    assert scrape("trustline_tick_duration_seconds_count") == timed + 1


def test_a_failing_tick_is_counted_as_failed(app, scrape, monkeypatch):
    from backend.scheduling import jobs

    def broken(**_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(jobs.checkins, "close_expired", broken)
    failed = scrape("trustline_tick_runs_total", outcome="failed")
    with pytest.raises(RuntimeError):
        jobs.tick()
    db.session.rollback()
    assert scrape("trustline_tick_runs_total", outcome="failed") == failed + 1


def test_push_deliveries_are_counted_by_outcome(app, alice, scrape):
    from backend.scheduling.jobs import tick

    skipped = scrape("trustline_push_deliveries_total", outcome="skipped")
    notifications.notify(
        user_ids=[alice.user["id"]], kind="checkin_reminder", title="t", body="private words"
    )
    db.session.commit()
    tick()
    # No relay is configured in tests: the notification stays in-app, counted as skipped.
    assert scrape("trustline_push_deliveries_total", outcome="skipped") == skipped + 1


def test_rate_limit_refusals_are_counted_by_rule(app, alice, scrape, client):
    before = scrape("trustline_ratelimit_refusals_total", rule="login-account")
    refused = 0
    for _ in range(8):
        response = client.post(
            "/api/v1/auth/login", json={"email": "alice@example.com", "password": "wrong-one"}
        )
        refused += response.status_code == 429
    assert refused >= 1
    assert scrape("trustline_ratelimit_refusals_total", rule="login-account") == before + refused
    assert "alice@example.com" not in ok_text(client.get("/metrics"))


def test_the_pool_gauges_return_to_rest_after_requests(app, alice, scrape):
    at_rest = scrape("trustline_db_pool_connections_in_use")
    for _ in range(3):
        alice.get("/me")
    assert scrape("trustline_db_pool_connections_in_use") == at_rest
