"""Pushes to a real local relay: signed by the Standard Webhooks specification (checked with
that spec's own Python library), generic when discreet, retried, given up, once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
import time_machine
from standardwebhooks import Webhook, WebhookVerificationError

from backend import clock
from backend.extensions import db
from backend.notifications.delivery import DISCREET_BODY, deliver_due, standard_secret
from backend.notifications.models import Notification, PushAttempt
from tests.conftest import build_app
from tests.helpers import make_partner, pair

# A secret in the specification's form: whsec_ and 32 random-looking bytes in base64.
SECRET = "whsec_" + base64.b64encode(b"32 bytes of a relay's own secret").decode()
# A secret set before Trustline followed the specification.
PLAIN_SECRET = "relay-secret-for-tests"


class Relay:
    """A local HTTP server standing in for the operator's push relay."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.failures_left = 0
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                relay.received.append({"body": body, "headers": headers})
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


def verify(sent: dict, secret: str = SECRET) -> dict:
    """What a relay does: the Standard Webhooks library checks signature and timestamp."""
    return Webhook(secret).verify(sent["body"], sent["headers"])


def sent_at(sent: dict) -> datetime:
    return datetime.fromtimestamp(int(sent["headers"]["webhook-timestamp"]), UTC)


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
    payload = verify(sent)
    assert payload["body"] == DISCREET_BODY and payload["title"] == "Trustline"
    assert payload["devices"] == [{"platform": "ios", "token": "alice-phone-token"}]
    assert "Bob" not in sent["body"].decode()


def test_without_discretion_the_pushed_text_is_the_notifications(pushing_app, relay, partners):
    alice, _bob = partners
    with pushing_app.app_context():
        assert alice.patch("/me", json={"discreet_notifications": False}).status_code == 200
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


def test_a_device_is_last_used_when_a_push_for_it_is_handed_over(pushing_app, relay, partners):
    alice, _bob = partners
    relay.failures_left = 1
    with pushing_app.app_context():
        assert deliver_due().retried == 1
        [device] = alice.get("/me/devices").get_json()["items"]
        assert device["last_used_at"] is None  # the relay refused it: nothing was handed over
        moment = clock.now() + timedelta(hours=1)
        with time_machine.travel(moment, tick=False):
            assert deliver_due().delivered == 1
        [device] = alice.get("/me/devices").get_json()["items"]
    assert device["last_used_at"] == moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_without_a_relay_notifications_stay_in_app(app, alice, bob, couple):
    alice.post("/me/devices", json={"platform": "ios", "token": "alice-phone-token"})
    report = deliver_due()
    assert report.delivered == 0 and report.skipped >= 1
    assert alice.get("/me/notifications").get_json()["items"]


def test_a_relay_url_without_a_secret_is_refused(app):
    with pytest.raises(ValueError, match="SECRET"):
        build_app(app.config["SQLALCHEMY_DATABASE_URI"], TRUSTLINE_PUSH_WEBHOOK_URL="http://x")


def test_a_captured_delivery_verifies_with_the_standard_webhooks_library(
    pushing_app, relay, partners
):
    with pushing_app.app_context():
        deliver_due()
        notification_id = db.session.scalar(
            sa.select(Notification.id).where(Notification.kind == "paired")
        )
    [sent] = relay.received
    headers = sent["headers"]
    assert headers["webhook-id"] == notification_id
    assert headers["webhook-signature"].startswith("v1,")
    # A whsec_ secret: nothing but the specification's headers.
    assert "x-trustline-signature" not in headers
    assert verify(sent)["id"] == notification_id


def test_a_replayed_delivery_is_refused_by_the_library(pushing_app, relay, partners):
    with pushing_app.app_context():
        deliver_due()
    [sent] = relay.received
    with time_machine.travel(sent_at(sent) + timedelta(minutes=4), tick=False):
        assert verify(sent)  # late, but within the specification's five minutes
    with (
        time_machine.travel(sent_at(sent) + timedelta(minutes=6), tick=False),
        pytest.raises(WebhookVerificationError, match="too old"),
    ):
        verify(sent)


def test_a_tampered_delivery_is_refused_by_the_library(pushing_app, relay, partners):
    with pushing_app.app_context():
        deliver_due()
    [sent] = relay.received
    with time_machine.travel(sent_at(sent), tick=False):
        body = sent["body"].replace(b"alice-phone-token", b"mallory-phone-tok")
        with pytest.raises(WebhookVerificationError):
            verify({**sent, "body": body})
        with pytest.raises(WebhookVerificationError):
            verify({**sent, "headers": {**sent["headers"], "webhook-id": "another-id"}})
        other = "whsec_" + base64.b64encode(b"not the relay's secret, 32 bytes").decode()
        with pytest.raises(WebhookVerificationError):
            verify(sent, other)


def test_every_retry_of_a_push_carries_the_same_webhook_id(pushing_app, relay, partners):
    relay.failures_left = 1
    with pushing_app.app_context():
        assert deliver_due().retried == 1
        with time_machine.travel(clock.now() + timedelta(seconds=31), tick=False):
            assert deliver_due().delivered == 1
    first, second = relay.received
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    assert first["headers"]["webhook-timestamp"] != second["headers"]["webhook-timestamp"]
    for sent in (first, second):
        with time_machine.travel(sent_at(sent), tick=False):
            verify(sent)


def test_a_plain_secret_signs_both_ways_while_relays_move_over(app, relay):
    pushing = build_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        TRUSTLINE_PUSH_WEBHOOK_URL=relay.url,
        TRUSTLINE_PUSH_WEBHOOK_SECRET=PLAIN_SECRET,
    )
    with pushing.app_context():
        alice = make_partner(pushing, "alice@example.com", "Alice")
        alice.post("/me/devices", json={"platform": "ios", "token": "alice-phone-token"})
        pair(alice, make_partner(pushing, "bob@example.com", "Bob"))
        assert deliver_due().delivered == 1
    [sent] = relay.received
    # The whsec_ form of a plain secret is its bytes in base64: the relay's key is unchanged.
    converted = "whsec_" + base64.b64encode(PLAIN_SECRET.encode()).decode()
    assert standard_secret(PLAIN_SECRET) == converted
    with time_machine.travel(sent_at(sent), tick=False):
        assert verify(sent, converted)["devices"][0]["token"] == "alice-phone-token"
    # ...and a relay deployed before still finds the older header it checks.
    parts = dict(p.split("=", 1) for p in sent["headers"]["x-trustline-signature"].split(","))
    expected = hmac.new(
        PLAIN_SECRET.encode(), f"{parts['t']}.".encode() + sent["body"], hashlib.sha256
    )
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())
    assert parts["t"] == sent["headers"]["webhook-timestamp"]


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("whsec_not base64 at all!", "not base64"),
        ("whsec_" + base64.b64encode(b"too short").decode(), "24 to 64 bytes"),
    ],
)
def test_a_malformed_whsec_secret_stops_the_start(app, secret, message):
    with pytest.raises(ValueError, match=f"TRUSTLINE_PUSH_WEBHOOK_SECRET.*{message}"):
        build_app(
            app.config["SQLALCHEMY_DATABASE_URI"],
            TRUSTLINE_PUSH_WEBHOOK_URL="http://127.0.0.1:9/push",
            TRUSTLINE_PUSH_WEBHOOK_SECRET=secret,
        )
