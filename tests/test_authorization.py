"""Every couple-scoped endpoint refuses outsiders with 404, found by walking the URL map.

An endpoint added later is couple-scoped unless listed in NOT_COUPLE_SCOPED with a reason, so
an endpoint that forgets its scope check makes this test fail. For each one:

- a counselor with no link to the couple gets 404;
- a member of another couple gets 404 for any id of this couple's objects; where the path
  names no id ("/couple/..."), the endpoint acts on the caller's own couple, so the test
  checks that nothing of the other couple is returned or changed.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from backend.couples.models import Couple
from backend.extensions import db
from backend.timeline.models import TimelineEvent
from tests.conftest import TEST_SETTINGS
from tests.helpers import assert_problem, make_counselor

API = "/api/v1"
# (method, rule) -> why it is not scoped to a couple.
NOT_COUPLE_SCOPED = {
    ("POST", "/api/v1/auth/register"): "creates an account",
    ("POST", "/api/v1/auth/login"): "opens a session",
    ("POST", "/api/v1/auth/refresh"): "rotates the caller's own session",
    ("POST", "/api/v1/auth/logout"): "ends the caller's own session",
    ("GET", "/api/v1/me"): "the caller's own account",
    ("PATCH", "/api/v1/me"): "the caller's own account",
    ("POST", "/api/v1/me/password"): "the caller's own account",
    ("DELETE", "/api/v1/me"): "the caller's own account",
    ("GET", "/api/v1/me/export"): "the caller's own data",
    ("GET", "/api/v1/me/notifications"): "the caller's own feed",
    ("POST", "/api/v1/me/notifications/read"): "the caller's own feed",
    ("POST", "/api/v1/me/devices"): "the caller's own devices",
    ("DELETE", "/api/v1/me/devices/<device_id>"): "the caller's own; tested in notifications/",
    ("GET", "/api/v1/me/journal"): "the caller's own journal",
    ("POST", "/api/v1/me/journal"): "the caller's own journal",
    ("GET", "/api/v1/me/journal/<entry_id>"): "the caller's own; tested in journal/",
    ("PATCH", "/api/v1/me/journal/<entry_id>"): "the caller's own; tested in journal/",
    ("DELETE", "/api/v1/me/journal/<entry_id>"): "the caller's own; tested in journal/",
    ("GET", "/api/v1/me/safety-check"): "the caller's own",
    ("PUT", "/api/v1/me/safety-check"): "the caller's own",
    ("GET", "/api/v1/safety/resources"): "public help",
    ("POST", "/api/v1/pairing-invites"): "the caller's own code, before any couple exists",
    ("POST", "/api/v1/pairing-invites/accept"): "forms a couple; tested in couples/",
    ("GET", "/api/v1/openapi.json"): "the public spec",
    ("GET", "/api/v1/prompts"): "the shared prompt library",
    ("GET", "/api/v1/prompt-sets"): "the shared prompt library",
    ("GET", "/api/v1/agreement-suggestions"): "the shared suggestions",
    ("GET", "/api/v1/conversation-templates"): "the shared templates",
    ("POST", "/api/v1/counselor/link-codes"): "a counselor's own code",
    ("GET", "/api/v1/counselor/couples"): "lists only couples linked to the caller",
    ("GET", "/api/v1/counselor/couples/<couple_id>"): "scoped by counselor link: counseling/",
    ("POST", "/api/v1/counselor/couples/<couple_id>/exercises"): "scoped by link: counseling/",
}


def couple_scoped_routes() -> list[tuple[str, str]]:
    from backend import create_app

    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) not in NOT_COUPLE_SCOPED:
                routes.append((method, rule.rule))
    return routes


ROUTES = couple_scoped_routes()


def _exercise_of(app, alice, bob, couple) -> str:
    from tests.counseling.helpers import link

    counselor = make_counselor(app, "dr.exercise@example.com", "Dr E")
    link(alice, bob, counselor)
    response = counselor.post(
        f"/counselor/couples/{couple['id']}/exercises",
        json={"kind": "reflection", "prompts": ["x"]},
    )
    return response.get_json()["id"]


@pytest.fixture
def victim_ids(app, alice, bob, couple) -> dict[str, str]:
    """One object of each kind that an id in a path can name, all of Alice and Bob's couple."""
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    schedule = alice.post(
        "/couple/schedules",
        json={"prompt_set": "daily_pulse", "frequency": "daily", "local_time": "21:00"},
    ).get_json()
    agreement = alice.post(
        "/couple/agreements",
        json={"title": "For now", "items": [{"category": "plans", "text": "We share plans."}]},
    ).get_json()
    conversation = alice.post(
        "/couple/conversations",
        json={"template": "processing_a_trigger", "roles": {"hurt_partner": alice.user["id"]}},
    ).get_json()
    from tests.counseling.helpers import propose

    link = propose(alice, make_counselor(app, "dr.victim@example.com", "Dr V"))
    return {
        "link_id": link["id"],
        "exercise_id": _exercise_of(app, alice, bob, couple),
        "conversation_id": conversation["id"],
        "checkin_id": checkin["id"],
        "schedule_id": schedule["id"],
        "agreement_id": agreement["id"],
    }


def fill(rule: str, ids: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        assert name in ids, f"add an object for <{name}> to the victim_ids fixture"
        return ids[name]

    return re.sub(r"<([^>]+)>", replace, rule)


def call(client, method: str, url: str):
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, url, json=body)


def snapshot(couple_id: str) -> tuple:
    db.session.expire_all()
    couple = db.session.get(Couple, couple_id)
    events = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(TimelineEvent)
        .where(TimelineEvent.couple_id == couple_id)
    )
    return (couple.status, couple.name, couple.timezone, events)


def test_the_walk_finds_the_couple_endpoints():
    assert ("GET", "/api/v1/couple") in ROUTES
    assert ("GET", "/api/v1/couple/timeline") in ROUTES


@pytest.mark.parametrize(("method", "rule"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_a_counselor_without_a_link_gets_404(method, rule, counselor, victim_ids):
    assert_problem(call(counselor, method, fill(rule, victim_ids)), 404)


@pytest.mark.parametrize(("method", "rule"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_a_member_of_another_couple_gets_404_or_only_their_own(
    method, rule, carol, couple, victim_ids
):
    before = snapshot(couple["id"])
    response = call(carol, method, fill(rule, victim_ids))
    if "<" in rule:
        assert_problem(response, 404)
    else:
        text = response.get_data(as_text=True)
        assert couple["id"] not in text
        assert "Alice" not in text and "Bob" not in text
    assert snapshot(couple["id"]) == before


@pytest.mark.parametrize(("method", "rule"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
def test_a_partner_not_yet_paired_gets_404(method, rule, app, couple, victim_ids):
    from tests.helpers import make_partner

    loner = make_partner(app, "loner@example.com", "Loner")
    assert_problem(call(loner, method, fill(rule, victim_ids)), 404)
