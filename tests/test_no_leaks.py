"""Walking every endpoint: nothing of another person leaks; changes to both reach both.

No response to Bob or to a counselor may hold Alice's e-mail, her login times, her devices
or the contents of her notifications. And every change that affects both partners
(schedules, agreements, counselor links, leaving) is told to the other partner.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from backend.extensions import db
from backend.notifications import service as notifications
from backend.notifications.models import Notification
from tests.helpers import PASSWORD, ok, ok_json

LOGIN_MOMENT = datetime(2026, 11, 20, 3, 33, 33, tzinfo=UTC)
DEVICE_TOKEN = "alice-secret-device-token-777"
NOTE_MARKER = "only-for-alice-7f3a"
SESSION_MARKER = "alices-own-phone-5c1e"
MEASURE_MARKER = "alices-own-words-9d2b"


@pytest.fixture
def world(alice, one_of_everything):
    """One of everything, plus Alice's personal things: a login at a known moment, a device
    token and a notification only she may see."""
    with time_machine.travel(LOGIN_MOMENT, tick=False):
        alice.login()
    login = {"email": "alice@example.com", "password": PASSWORD, "client_label": SESSION_MARKER}
    alice.tokens = ok_json(alice.client.post("/api/v1/auth/login", json=login))
    ok(alice.post("/me/devices", json={"platform": "ios", "token": DEVICE_TOKEN}), 201)
    notifications.notify(
        user_ids=[alice.user["id"]], kind="checkin_reminder", title="For Alice", body=NOTE_MARKER
    )
    db.session.commit()
    # Her questionnaire, with words only she wrote and a risk answer (she shares nothing).
    measure = ok_json(alice.post("/me/measure-responses", json={"measure": "trust_week"}), 201)
    ok(
        alice.put(
            f"/measure-responses/{measure['id']}",
            json={"answers": [{"item": "small_step", "value": MEASURE_MARKER}]},
        )
    )
    phq9 = ok_json(alice.post("/me/measure-responses", json={"measure": "phq9"}), 201)
    ok(
        alice.put(
            f"/measure-responses/{phq9['id']}", json={"answers": [{"item": "phq9_9", "value": 3}]}
        )
    )
    return {
        **one_of_everything,
        "response_id": measure["id"],
        "phq9_response_id": phq9["id"],
        "measure_key": "trust_week",
    }


def get_routes(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "GET" in (rule.methods or ())
    )


def test_no_response_exposes_another_persons_email_logins_devices_or_notifications(
    app, world, alice, bob, counselor
):
    # Her sign-ins and her account's activity (GET /me/sessions, /me/activity), by id and by
    # the device her login named.
    own = [s["id"] for s in alice.get("/me/sessions").get_json()["items"]]
    own += [e["id"] for e in alice.get("/me/activity").get_json()["items"]]
    assert len(own) > 4
    traces = ["alice@example.com", DEVICE_TOKEN, NOTE_MARKER, "2026-11-20T03:33", SESSION_MARKER]
    traces += own
    traces += [MEASURE_MARKER, world["response_id"], world["phq9_response_id"]]
    checked = 0
    for rule in get_routes(app):
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: world.get(m.group(1), "unknown"), rule)
        for viewer in (bob, counselor):
            response = viewer.get(url)
            text = response.get_data(as_text=True)
            for trace in traces:
                assert trace not in text, (url, trace)
            checked += 1
    assert checked > 30
    # and Alice herself does see her own things
    assert NOTE_MARKER in alice.get("/me/notifications").get_data(as_text=True)
    assert SESSION_MARKER in alice.get("/me/sessions").get_data(as_text=True)
    assert SESSION_MARKER in alice.get("/me/activity").get_data(as_text=True)
    assert MEASURE_MARKER in alice.get(f"/measure-responses/{world['response_id']}").get_data(
        as_text=True
    )
    assert {"/api/v1/me/sessions", "/api/v1/me/activity"} <= set(get_routes(app))


def kinds_for(user) -> set[str]:
    return set(
        db.session.scalars(
            sa.select(Notification.kind).where(Notification.user_id == user.user["id"])
        )
    )


@pytest.mark.parametrize("actor_name", ["alice", "bob"])
def test_every_change_affecting_both_is_told_to_the_other_partner(
    actor_name, alice, bob, couple, counselor
):
    actor, other = (alice, bob) if actor_name == "alice" else (bob, alice)
    schedule = actor.post(
        "/couple/schedules",
        json={"prompt_set": "daily_pulse", "frequency": "daily", "local_time": "20:00"},
    ).get_json()
    actor.patch(f"/schedules/{schedule['id']}", json={"local_time": "21:00"})
    actor.patch(f"/schedules/{schedule['id']}", json={"paused": True})
    actor.delete(f"/schedules/{schedule['id']}")
    agreement = actor.post(
        "/couple/agreements",
        json={"title": "T", "items": [{"category": "plans", "text": "We share plans."}]},
    ).get_json()
    actor.post(f"/agreements/{agreement['id']}/withdraw", json={})
    proposed = actor.post(
        "/couple/counselor-links",
        json={"code": counselor.post("/counselor/link-codes").get_json()["code"]},
    ).get_json()
    actor.delete(f"/counselor-links/{proposed['id']}")
    actor.post("/couple/leave", json={"notify_partner": True})
    expected = {
        "schedule_created",
        "schedule_changed",
        "schedule_paused",
        "schedule_deleted",
        "agreement_proposed",
        "agreement_withdrawn",
        "counselor_link_proposed",
        "counselor_link_ended",
        "partner_left",
    }
    assert expected <= kinds_for(other)
