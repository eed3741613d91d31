"""Pushes to a real local relay: signed, generic when discreet, retried, given up, once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import time_machine

from backend import clock
from backend.extensions import db
from backend.notifications.delivery import DISCREET_BODY, deliver_due
from backend.notifications.models import Notification, PushAttempt
from tests.conftest import build_app
from tests.helpers import make_partner, pair

SECRET = "relay-secret-for-tests"


class Relay:
    """A local HTTP server standing in for the operator's push relay."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.failures_left = 0
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                relay.received.append(
                    {"body": body, "signature": self.headers["X-Trustline-Signature"]}
                )
                status = 503 if relay.failures_left > 0 else 202
                relay.failures_left = max(0, relay.failures_left - 1)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/push"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(signature: str, body: bytes) -> bool:
    parts = dict(part.split("=", 1) for part in signature.split(","))
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(parts["v1"], expected.hexdigest())


@pytest.fixture
def relay():
    server = Relay()
    yield server
    server.close()


@pytest.fixture
def pushing_app(app, relay):
    """An app over the test database with the relay configured."""
    return build_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_PUSH_WEBHOOK_URL=relay.url,
        TRUSTLINE_PUSH_WEBHOOK_SECRET=SECRET,
        TRUSTLINE_PUSH_MAX_ATTEMPTS=3,
        TRUSTLINE_PUSH_BACKOFF_SECONDS=30,
    )


@pytest.fixture
def partners(pushing_app):
    with pushing_app.app_context():
        alice = make_partner(pushing_app, "alice@example.com", "Alice")
        bob = make_partner(pushing_app, "bob@example.com", "Bob")
        alice.post("/me/devices", json={"platform": "ios", "token": "alice-phone-token"})
        pair(alice, bob)  # Alice made the code, so she is told they are paired
        yield alice, bob


def test_a_notification_is_pushed_once_signed_and_discreet(pushing_app, relay, partners):
    with pushing_app.app_context():
        report = deliver_due()
        assert report.delivered == 1
        assert deliver_due().delivered == 0
    [sent] = relay.received
    assert verify(sent["signature"], sent["body"])
    payload = json.loads(sent["body"])
    assert payload["body"] == DISCREET_BODY and payload["title"] == "Trustline"
    assert payload["devices"] == [{"platform": "ios", "token": "alice-phone-token"}]
    assert "Bob" not in sent["body"].decode()


def test_without_discretion_the_pushed_text_is_the_notifications(pushing_app, relay, partners):
    alice, _bob = partners
    with pushing_app.app_context():
        alice.patch("/me", json={"discreet_notifications": False})
        deliver_due()
    payload = json.loads(relay.received[0]["body"])
    assert payload["title"] == "You are paired"


def test_a_failing_relay_is_retried_with_backoff(pushing_app, relay, partners):
    relay.failures_left = 1
    with pushing_app.app_context():
        first = deliver_due()
        assert first.retried == 1 and first.delivered == 0
        assert deliver_due().delivered == 0  # backing off
        with time_machine.travel(clock.now() + timedelta(seconds=31), tick=False):
            assert deliver_due().delivered == 1
        attempts = db.session.scalars(sa.select(PushAttempt).order_by(PushAttempt.attempted_at))
        assert [(a.succeeded, a.status_code) for a in attempts] == [(False, 503), (True, 202)]
    assert len(relay.received) == 2
    assert (
        json.loads(relay.received[0]["body"])["id"] == json.loads(relay.received[1]["body"])["id"]
    )


def test_delivery_gives_up_after_the_configured_attempts(pushing_app, relay, partners):
    relay.failures_left = 10
    with pushing_app.app_context():
        moment = clock.now()
        for _ in range(3):
            with time_machine.travel(moment, tick=False):
                deliver_due()
            moment += timedelta(hours=1)
        with time_machine.travel(moment, tick=False):
            assert deliver_due().delivered == 0
        notification = db.session.scalar(
            sa.select(Notification).where(Notification.kind == "paired")
        )
        assert notification.push_status == "failed" and notification.push_attempts == 3
    assert len(relay.received) == 3


def test_a_lease_held_by_another_process_is_not_sent_twice(pushing_app, relay, partners):
    with pushing_app.app_context():
        from backend.notifications.delivery import _lease

        leased, _ = _lease(clock.now(), 10)
        assert len(leased) == 1
        assert deliver_due().delivered == 0  # another process holds the lease
        with time_machine.travel(clock.now() + timedelta(minutes=3), tick=False):
            assert deliver_due().delivered == 1  # the lease ran out: sent by this one
    assert len(relay.received) == 1


def test_without_a_relay_notifications_stay_in_app(app, alice, bob, couple):
    alice.post("/me/devices", json={"platform": "ios", "token": "alice-phone-token"})
    report = deliver_due()
    assert report.delivered == 0 and report.skipped >= 1
    assert alice.get("/me/notifications").get_json()["items"]


def test_a_relay_url_without_a_secret_is_refused(app):
    with pytest.raises(ValueError, match="SECRET"):
        build_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTLINE_PUSH_WEBHOOK_URL="http://x")
