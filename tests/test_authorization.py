"""Every couple-scoped endpoint refuses outsiders with 404, found by walking the URL map.

An endpoint added later is couple-scoped unless listed in NOT_COUPLE_SCOPED with a reason, so
an endpoint that forgets its scope check makes this test fail. For each one:

- a counselor with no link to the couple gets 404;
- a member of another couple gets 404 for any id of this couple's objects; where the path
  names no id ("/couple/..."), the endpoint acts on the caller's own couple, so the test
  checks that nothing of the other couple is returned or changed.

Roles are walked too: every endpoint says in WHO who may call it (a couple-scoped one is for
partners unless WHO says otherwise). A partners' endpoint answers a counselor — even one
linked to the couple — 404, and a counselors' endpoint answers a partner 404, with nothing
written; an endpoint for both serves both.

Things one person owns (a journal entry, a push device, a questionnaire response) are walked
too: every endpoint whose path names one (OWNED_IDS) answers anyone but its owner — their
partner, a stranger, the couple's own counselor — 404, with nothing written.

The counselors' web console (/console, HTML, not part of the API) is walked by
tests/console/test_pages.py: every page needs a signed-in counselor, another couple's is 404.
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
    ("GET", "/api/v1/me/devices"): "the caller's own devices",
    ("POST", "/api/v1/me/devices"): "the caller's own devices",
    ("DELETE", "/api/v1/me/devices/<device_id>"): "the caller's own; tested in notifications/",
    ("GET", "/api/v1/me/sessions"): "the caller's own sign-ins",
    ("DELETE", "/api/v1/me/sessions/<string(length=22):session_id>"): "the caller's own: accounts/",
    ("POST", "/api/v1/me/sessions/end-others"): "the caller's own sign-ins",
    ("GET", "/api/v1/me/activity"): "the caller's own account activity",
    ("GET", "/api/v1/me/calendar-feeds"): "the caller's own feeds",
    ("DELETE", "/api/v1/me/calendar-feeds/<feed_id>"): "the caller's own: calendar_feeds/",
    ("GET", "/api/v1/calendar/<token>.ics"): "the address is the credential: calendar_feeds/",
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
    # Measures: a response belongs to its author, never to a couple (measures/).
    ("GET", "/api/v1/measures"): "the library, and counselors' own published ones",
    ("GET", "/api/v1/measures/<measure_key>"): "the library; tested in measures/",
    ("GET", "/api/v1/counselor/measures"): "a counselor's own questionnaires",
    ("POST", "/api/v1/counselor/measures"): "a counselor's own questionnaires",
    ("PATCH", "/api/v1/counselor/measures/<measure_id>"): "a counselor's own: measures/",
    ("POST", "/api/v1/counselor/measures/<measure_id>/publish"): "a counselor's own: measures/",
    ("GET", "/api/v1/me/measure-responses"): "the caller's own responses",
    ("POST", "/api/v1/me/measure-responses"): "the caller's own responses",
    ("GET", "/api/v1/measure-responses/<response_id>"): "the author's own: measures/",
    ("PUT", "/api/v1/measure-responses/<response_id>"): "the author's own: measures/",
    ("GET", "/api/v1/me/measures/<measure_key>/scores"): "the caller's own series",
}


PARTNER, COUNSELOR, BOTH, ANYONE = "partner", "counselor", "both", "anyone"
# (method, rule) -> who may call it. Couple-scoped endpoints not listed are for partners.
# Devices are for both: counselors have a notification feed too, and the web console can take
# web push. The libraries are for both: counselors assign exercises from them. The journal
# and the safety check are a partner's, like pairing: a counselor has no couple of their own.
WHO = {
    ("POST", "/api/v1/auth/register"): ANYONE,
    ("POST", "/api/v1/auth/login"): ANYONE,
    ("POST", "/api/v1/auth/refresh"): ANYONE,
    ("POST", "/api/v1/auth/logout"): BOTH,
    ("GET", "/api/v1/me"): BOTH,
    ("PATCH", "/api/v1/me"): BOTH,
    ("POST", "/api/v1/me/password"): BOTH,
    ("DELETE", "/api/v1/me"): BOTH,
    ("GET", "/api/v1/me/export"): BOTH,
    ("GET", "/api/v1/me/notifications"): BOTH,
    ("POST", "/api/v1/me/notifications/read"): BOTH,
    ("GET", "/api/v1/me/devices"): BOTH,
    ("POST", "/api/v1/me/devices"): BOTH,
    ("DELETE", "/api/v1/me/devices/<device_id>"): BOTH,
    ("GET", "/api/v1/me/sessions"): BOTH,
    ("DELETE", "/api/v1/me/sessions/<string(length=22):session_id>"): BOTH,
    ("POST", "/api/v1/me/sessions/end-others"): BOTH,
    ("GET", "/api/v1/me/activity"): BOTH,
    # Calendar feeds show a couple's dates, so they are a partner's (making one: couple-scoped).
    ("GET", "/api/v1/me/calendar-feeds"): PARTNER,
    ("POST", "/api/v1/me/calendar-feeds"): PARTNER,
    ("DELETE", "/api/v1/me/calendar-feeds/<feed_id>"): PARTNER,
    ("GET", "/api/v1/calendar/<token>.ics"): ANYONE,
    ("GET", "/api/v1/me/journal"): PARTNER,
    ("POST", "/api/v1/me/journal"): PARTNER,
    ("GET", "/api/v1/me/journal/<entry_id>"): PARTNER,
    ("PATCH", "/api/v1/me/journal/<entry_id>"): PARTNER,
    ("DELETE", "/api/v1/me/journal/<entry_id>"): PARTNER,
    ("GET", "/api/v1/me/safety-check"): PARTNER,
    ("PUT", "/api/v1/me/safety-check"): PARTNER,
    ("GET", "/api/v1/safety/resources"): ANYONE,
    ("POST", "/api/v1/pairing-invites"): PARTNER,
    ("POST", "/api/v1/pairing-invites/accept"): PARTNER,
    ("GET", "/api/v1/openapi.json"): ANYONE,
    ("GET", "/api/v1/prompts"): BOTH,
    ("GET", "/api/v1/prompt-sets"): BOTH,
    ("GET", "/api/v1/agreement-suggestions"): BOTH,
    ("GET", "/api/v1/conversation-templates"): BOTH,
    ("POST", "/api/v1/counselor/link-codes"): COUNSELOR,
    ("GET", "/api/v1/counselor/couples"): COUNSELOR,
    ("GET", "/api/v1/counselor/couples/<couple_id>"): COUNSELOR,
    ("POST", "/api/v1/counselor/couples/<couple_id>/exercises"): COUNSELOR,
    # The measure library is for both: partners take measures, counselors assign them.
    ("GET", "/api/v1/measures"): BOTH,
    ("GET", "/api/v1/measures/<measure_key>"): BOTH,
    ("GET", "/api/v1/counselor/measures"): COUNSELOR,
    ("POST", "/api/v1/counselor/measures"): COUNSELOR,
    ("PATCH", "/api/v1/counselor/measures/<measure_id>"): COUNSELOR,
    ("POST", "/api/v1/counselor/measures/<measure_id>/publish"): COUNSELOR,
    ("GET", "/api/v1/counselor/couples/<couple_id>/measure-assignments"): COUNSELOR,
    ("POST", "/api/v1/counselor/couples/<couple_id>/measure-assignments"): COUNSELOR,
    ("DELETE", "/api/v1/measure-assignments/<assignment_id>"): COUNSELOR,
    ("GET", "/api/v1/counselor/couples/<couple_id>/measures"): COUNSELOR,
    # A partner's own questionnaires; a counselor sees shared scores only, through the above.
    ("GET", "/api/v1/me/measure-responses"): PARTNER,
    ("POST", "/api/v1/me/measure-responses"): PARTNER,
    ("GET", "/api/v1/measure-responses/<response_id>"): PARTNER,
    ("PUT", "/api/v1/measure-responses/<response_id>"): PARTNER,
    ("GET", "/api/v1/me/measures/<measure_key>/scores"): PARTNER,
    # Either side may end a link: a partner of its couple, or its counselor.
    ("DELETE", "/api/v1/counselor-links/<link_id>"): BOTH,
}


def api_routes() -> list[tuple[str, str]]:
    """Every (method, rule) of the API."""
    from backend import create_app

    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": "sqlite:///:memory:"})
    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


def couple_scoped_routes() -> list[tuple[str, str]]:
    return [route for route in ALL_ROUTES if route not in NOT_COUPLE_SCOPED]


ALL_ROUTES = api_routes()
ROUTES = couple_scoped_routes()
PARTNER_ROUTES = [route for route in ALL_ROUTES if WHO.get(route, PARTNER) == PARTNER]
COUNSELOR_ROUTES = [route for route in ALL_ROUTES if WHO.get(route) == COUNSELOR]
# Path ids of things one person owns, and the owner's id of each in `victim_ids`.
OWNED_IDS = ("entry_id", "device_id", "response_id")
OWN_ID = re.compile(r"<(" + "|".join(OWNED_IDS) + r")>")
OWNED_ROUTES = [route for route in ALL_ROUTES if any(f"<{name}>" in route[1] for name in OWNED_IDS)]
# Both roles' endpoints without an id in the path (those with one are tested in their domain).
BOTH_ROUTES = [route for route in ALL_ROUTES if WHO.get(route) == BOTH and "<" not in route[1]]


@pytest.fixture
def linked_counselor(app, alice, bob, couple):
    """A counselor Alice and Bob linked, seeing everything they share."""
    from tests.counseling.helpers import link

    counselor = make_counselor(app, "dr.exercise@example.com", "Dr E")
    link(alice, bob, counselor, "shared_content")
    return counselor


def _exercise_of(counselor, couple) -> str:
    response = counselor.post(
        f"/counselor/couples/{couple['id']}/exercises",
        json={"kind": "reflection", "prompts": ["x"]},
    )
    return response.get_json()["id"]


def _device_of(partner) -> str:
    response = partner.post("/me/devices", json={"platform": "ios", "token": "alice-phone-0001"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def victim_ids(app, alice, bob, couple, linked_counselor) -> dict[str, str]:
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
    measure = linked_counselor.post(
        "/counselor/measures",
        json={"title": "Q", "items": [{"kind": "short_text", "text": "How was the week?"}]},
    ).get_json()
    assignment = linked_counselor.post(
        f"/counselor/couples/{couple['id']}/measure-assignments",
        json={"measure": "phq9", "partners": "both", "frequency": "weekly", "local_time": "19:00"},
    ).get_json()
    response = alice.post("/me/measure-responses", json={"measure": "phq9"}).get_json()
    return {
        "measure_id": measure["id"],
        "measure_key": "phq9",
        "assignment_id": assignment["id"],
        "response_id": response["id"],
        "link_id": link["id"],
        "exercise_id": _exercise_of(linked_counselor, couple),
        "entry_id": alice.post("/me/journal", json={"text": "mine"}).get_json()["id"],
        "device_id": _device_of(alice),
        "feed_id": alice.post("/me/calendar-feeds", json={}).get_json()["id"],
        "couple_id": couple["id"],
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


def row_counts() -> dict[str, int]:
    """How many rows each table holds."""
    db.session.expire_all()
    return {
        table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


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


def test_every_endpoint_says_who_may_call_it():
    assert set(NOT_COUPLE_SCOPED) <= set(WHO), "say in WHO who may call each new endpoint"
    assert set(WHO) <= set(ALL_ROUTES), "WHO names an endpoint that no longer exists"
    assert ("GET", "/api/v1/counselor/couples") in COUNSELOR_ROUTES
    assert ("GET", "/api/v1/me/journal") in PARTNER_ROUTES
    assert ("GET", "/api/v1/me") in BOTH_ROUTES


@pytest.mark.parametrize(
    ("method", "rule"), PARTNER_ROUTES, ids=[f"{m} {r}" for m, r in PARTNER_ROUTES]
)
def test_a_partners_endpoint_is_not_there_for_a_counselor(
    method, rule, linked_counselor, victim_ids
):
    """Even the counselor the couple linked: they see it only through /counselor/couples."""
    before = row_counts()
    body = assert_problem(call(linked_counselor, method, fill(rule, victim_ids)), 404)
    assert "Alice" not in body["detail"] and "Bob" not in body["detail"]
    assert row_counts() == before


@pytest.mark.parametrize(
    ("method", "rule"), COUNSELOR_ROUTES, ids=[f"{m} {r}" for m, r in COUNSELOR_ROUTES]
)
def test_a_counselors_endpoint_is_not_there_for_a_partner(method, rule, alice, victim_ids):
    """Alice asks for her own couple, which a counselor is linked to: still 404."""
    before = row_counts()
    assert_problem(call(alice, method, fill(rule, victim_ids)), 404)
    assert row_counts() == before


@pytest.mark.parametrize(("method", "rule"), BOTH_ROUTES, ids=[f"{m} {r}" for m, r in BOTH_ROUTES])
@pytest.mark.parametrize("role", [PARTNER, COUNSELOR])
def test_an_endpoint_for_both_serves_both(method, rule, role, alice, linked_counselor):
    caller = alice if role == PARTNER else linked_counselor
    response = call(caller, method, rule)
    assert response.status_code != 404 and response.status_code < 500, response.get_json()


# Where the owner sees each owned thing.
OWN_LIST = {
    "entry_id": "/me/journal",
    "device_id": "/me/devices",
    "response_id": "/me/measure-responses",
}


def test_the_walk_finds_every_owned_thing():
    """Each kind of owned thing has endpoints; a new one added with one of these ids is walked."""
    assert set(OWN_LIST) == set(OWNED_IDS)
    for name in OWNED_IDS:
        assert any(f"<{name}>" in rule for _method, rule in OWNED_ROUTES), name
    assert ("DELETE", "/api/v1/me/devices/<device_id>") in OWNED_ROUTES
    assert ("PATCH", "/api/v1/me/journal/<entry_id>") in OWNED_ROUTES


@pytest.mark.parametrize(
    ("method", "rule"), OWNED_ROUTES, ids=[f"{m} {r}" for m, r in OWNED_ROUTES]
)
@pytest.mark.parametrize("who", ["partner", "stranger", "linked_counselor"])
def test_a_thing_one_person_owns_is_404_to_anyone_else(
    method, rule, who, alice, bob, carol, linked_counselor, victim_ids
):
    """Alice's journal entry, device and questionnaire response: Bob, who shares her couple,
    Carol, and the counselor they both linked get 404, and nothing of hers changes."""
    caller = {"partner": bob, "stranger": carol, "linked_counselor": linked_counselor}[who]
    before = row_counts()
    body = assert_problem(call(caller, method, fill(rule, victim_ids)), 404)
    assert "mine" not in body["detail"] and "Alice" not in body["detail"]
    assert row_counts() == before
    # The owner still has it (the 404 above was about the caller, not a missing thing).
    name = OWN_ID.search(rule).group(1)
    assert victim_ids[name] in alice.get(OWN_LIST[name]).get_data(as_text=True)
