"""The console's pages: each action through the same services as the API, errors on the form,
security headers on every response, another couple's pages a plain 404."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backend.counseling.models import CounselorLinkCode, Exercise
from backend.extensions import db
from tests.console.helpers import answer, csrf_of, post_form, signed_in, text_of
from tests.counseling.helpers import link, link_code, propose
from tests.helpers import make_counselor, pair

HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


@pytest.fixture
def linked(alice, bob, couple, counselor):
    """Dr Kim, linked to Alice and Bob with scope shared_content."""
    link(alice, bob, counselor, "shared_content")
    return couple


@pytest.fixture
def browser(app, counselor):
    """Dr Kim's browser, signed in."""
    return signed_in(app.test_client(), counselor)


def pages(couple_id: str) -> list[str]:
    return [
        "/console/",
        "/console/links",
        f"/console/couples/{couple_id}",
        f"/console/couples/{couple_id}/exercises/new",
        f"/console/couples/{couple_id}/end",
        "/console/couples/not-a-couple",
        "/console/no-such-page",
        "/console/static/console.css",
    ]


def assert_secured(response) -> None:
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for name, value in HEADERS.items():
        assert response.headers[name] == value, name


def test_every_console_response_carries_the_security_headers(app, linked, browser):
    for url in pages(linked["id"]):
        response = browser.get(url)
        assert response.status_code in (200, 404), url
        assert_secured(response)
    signed_out = app.test_client()
    for url in ["/console/sign-in", "/console/", "/console/links"]:
        assert_secured(signed_out.get(url))
    assert_secured(signed_out.put("/console/"))  # a routing error under /console too
    assert_secured(signed_out.post("/console/links"))  # refused: no CSRF token


def test_pages_use_no_inline_script_or_style(linked, browser):
    for url in pages(linked["id"])[:5]:
        page = text_of(browser.get(url))
        assert "<script" not in page and "<style" not in page and " style=" not in page, url
        assert "http://" not in page and "https://" not in page, url  # nothing from elsewhere


def test_the_apis_responses_are_unchanged(app, linked, browser, counselor):
    for response in (
        app.test_client().get("/api/v1/healthz"),
        counselor.get("/counselor/couples"),
        app.test_client().get("/api/v1/openapi.json"),
    ):
        assert "Content-Security-Policy" not in response.headers
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers.get("Vary", "")
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert not [path for path in spec["paths"] if "console" in path]


def test_the_couples_page_lists_linked_couples_with_their_digest(app, alice, bob):
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        counselor = make_counselor(app, "dr.digest@example.com", "Dr Digest")
        couple = pair(alice, bob)
        link(alice, bob, counselor, "shared_content")
        checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
        answer(alice, checkin["id"])
        answer(bob, checkin["id"])
        traveller.shift(timedelta(minutes=5))
        browser = signed_in(app.test_client(), counselor)
        page = text_of(browser.get("/console/"))
        assert "Alice &amp; Bob" in page
        assert "Since your last visit" in page and "your first visit" in page
        assert "Check-ins revealed: 1" in page
        # opening the couple is a visit: afterwards the digest starts again
        browser.get(f"/console/couples/{couple['id']}")
        traveller.shift(timedelta(minutes=5))
        assert "Nothing new." in text_of(browser.get("/console/"))
        agreement = alice.post(
            "/couple/agreements",
            json={"title": "Plans", "items": [{"category": "plans", "text": "We share plans."}]},
        ).get_json()
        alice.post(f"/agreements/{agreement['id']}/withdraw", json={})
        page = text_of(browser.get("/console/"))
        assert "Agreements: consents, amendments, withdrawals: 2" in page
        assert "Check-ins revealed" not in page


def test_the_digest_lists_overdue_exercises(app, alice, bob):
    with time_machine.travel(datetime.now(UTC), tick=False) as traveller:
        counselor = make_counselor(app, "dr.due@example.com", "Dr Due")
        pair(alice, bob)
        couple_id = alice.get("/couple").get_json()["id"]
        link(alice, bob, counselor, "progress")
        due = datetime.now(UTC).date() + timedelta(days=1)  # the couple's time zone is UTC
        response = counselor.post(
            f"/counselor/couples/{couple_id}/exercises",
            json={
                "kind": "reflection",
                "instructions": "Write a letter.",
                "due_on": due.isoformat(),
            },
        )
        assert response.status_code == 201, response.get_json()
        traveller.shift(timedelta(days=3))
        browser = signed_in(app.test_client(), counselor)
        page = text_of(browser.get("/console/"))
        assert "Exercises overdue: 1" in page


def test_making_a_link_code_shows_it_once_and_it_works_in_the_app(app, browser, alice, bob, couple):
    page = text_of(browser.get("/console/links"))
    assert "No link is waiting" in page
    response = post_form(browser, "/console/links", "/console/links", {})
    assert response.status_code == 200
    code = text_of(response).split('id="link-code">')[1].split("<")[0]
    proposed = alice.post("/couple/counselor-links", json={"code": code, "scope": "progress"})
    assert proposed.status_code == 201
    page = text_of(browser.get("/console/links"))
    assert "Alice</strong> entered your code" in page and "Waiting for their partner" in page
    assert "Alice" not in text_of(browser.get("/console/")).split("Your couples")[1]
    bob.post(f"/counselor-links/{proposed.get_json()['id']}/consent")
    assert "No link is waiting" in text_of(browser.get("/console/links"))
    assert f"/console/couples/{couple['id']}" in text_of(browser.get("/console/"))


def test_a_couple_page_shows_the_scope_banner_timeline_ratings_and_exercises(
    linked, browser, alice, bob, counselor
):
    exercise = counselor.post(
        f"/counselor/couples/{linked['id']}/exercises",
        json={"kind": "checkin", "template": "weekly_trust_checkin"},
    ).get_json()
    answer(alice, exercise["checkin_id"], text="shared words")
    answer(bob, exercise["checkin_id"], text="shared words")
    page = text_of(browser.get(f"/console/couples/{linked['id']}"))
    assert "What this link shows: Progress and shared content" in page
    assert "You never see" in page and "marked private" in page
    assert "You both answered" in page  # the timeline
    assert "Weekly trust check-in" in page and "Completed" in page
    assert '<svg viewBox="0 0 640 240" role="img"' in page
    assert page.count('class="point"') >= 2  # each partner's rating
    assert "shared words" in page  # shared answers, with this scope


def test_with_the_progress_scope_no_rating_or_answer_is_shown(app, alice, bob, couple, counselor):
    link(alice, bob, counselor, "progress")
    checkin = alice.post("/couple/checkins", json={"prompt_set": "weekly_trust_checkin"}).get_json()
    answer(alice, checkin["id"], text="shared words")
    answer(bob, checkin["id"], text="shared words")
    browser = signed_in(app.test_client(), counselor)
    page = text_of(browser.get(f"/console/couples/{couple['id']}"))
    assert "What this link shows: Progress" in page
    assert "not part of this link's scope" in page
    assert "<svg" not in page and "shared words" not in page
    asked = text_of(browser.get(f"/console/couples/{couple['id']}?prompt=week_overall"))
    assert "<svg" not in asked and 'class="point"' not in asked


@pytest.mark.parametrize(
    ("form", "check"),
    [
        ({"kind": "checkin", "template": "daily_pulse"}, lambda e: e.checkin_id is not None),
        (
            {"kind": "conversation", "template": "processing_a_trigger", "instructions": "Slowly."},
            lambda e: e.template == "processing_a_trigger" and e.instructions == "Slowly.",
        ),
        (
            {"kind": "reflection", "instructions": "Write.", "prompts": "One\nTwo\n"},
            lambda e: e.prompts == ["One", "Two"],
        ),
    ],
    ids=["checkin", "conversation", "reflection"],
)
def test_assigning_each_kind_of_exercise(linked, browser, alice, form, check):
    new = f"/console/couples/{linked['id']}/exercises/new"
    response = post_form(browser, new, f"/console/couples/{linked['id']}/exercises", form)
    assert response.status_code == 303, text_of(response)
    assert response.headers["Location"].endswith(f"/console/couples/{linked['id']}#exercises")
    assigned = alice.get("/couple/exercises").get_json()
    assert [e["kind"] for e in assigned] == [form["kind"]]
    assert check(db.session.get(Exercise, assigned[0]["id"]))
    assert "assigned." in text_of(browser.get(f"/console/couples/{linked['id']}"))


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"kind": "reflection"}, "prompts", "Give the couple something to reflect on."),
        ({"kind": "checkin"}, "template", "Name the prompt set of the check-in."),
        ({"kind": "checkin", "template": "no_such_set"}, "template", "There is no prompt set"),
        ({"kind": "conversation", "template": "nope"}, "template", "Name a conversation template."),
        (
            {"kind": "reflection", "instructions": "x", "due_on": "2001-01-01"},
            "due_on",
            "Choose a due date from today on.",
        ),
        ({"kind": "reflection", "instructions": "x", "due_on": "soon"}, "due_on", "Not a valid"),
        ({"kind": "reflection", "instructions": "x" * 2001}, "instructions", "Longer than"),
        ({"kind": "reflection", "instructions": "a\x00b"}, "instructions", "NUL"),
        ({"kind": "wrong"}, "kind", "Must be one of"),
    ],
)
def test_a_bad_form_is_shown_again_with_the_error_beside_the_field(
    linked, browser, alice, form, field, message
):
    new = f"/console/couples/{linked['id']}/exercises/new"
    response = post_form(browser, new, f"/console/couples/{linked['id']}/exercises", form)
    assert response.status_code == 422
    page = text_of(response)
    assert message.lower() in page.lower()
    kind = form["kind"] if form["kind"] in ("checkin", "conversation", "reflection") else None
    if kind:
        assert f'id="{kind}-{field}-error"' in page
        assert f'{kind}-{field}-error"' in page.split(f'id="{kind}-{field}"')[1].split(">")[0]
        assert 'aria-invalid="true"' in page and 'role="alert"' in page
    assert alice.get("/couple/exercises").get_json() == []


def test_ending_a_link_asks_first_then_ends_it_for_everyone(linked, browser, alice):
    page = text_of(browser.get(f"/console/couples/{linked['id']}/end"))
    assert "Both partners are told" in page and "End the link" in page
    assert alice.get("/couple/counselor-links").get_json()[0]["status"] == "active"
    response = post_form(
        browser, f"/console/couples/{linked['id']}/end", f"/console/couples/{linked['id']}/end", {}
    )
    assert response.status_code == 303
    assert alice.get("/couple/counselor-links").get_json()[0]["status"] == "revoked"
    assert "The link has ended" in text_of(browser.get("/console/"))
    gone = browser.get(f"/console/couples/{linked['id']}")
    assert gone.status_code == 404 and "Not found" in text_of(gone)


def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_done(linked, browser, alice):
    couple_id = linked["id"]
    for action, data in [
        ("/console/links", {}),
        (f"/console/couples/{couple_id}/exercises", {"kind": "reflection", "instructions": "x"}),
        (f"/console/couples/{couple_id}/end", {}),
        ("/console/sign-out", {}),
    ]:
        for token in (None, "forged-token"):
            sent = dict(data, csrf_token=token) if token else data
            response = browser.post(action, data=sent)
            assert response.status_code == 400, action
            assert "could not be accepted" in text_of(response)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CounselorLinkCode)) == 1
    assert alice.get("/couple/exercises").get_json() == []
    assert alice.get("/couple/counselor-links").get_json()[0]["status"] == "active"
    assert browser.get("/console/").status_code == 200  # still signed in


def test_a_token_from_another_browser_is_refused(app, linked, browser, counselor):
    other = signed_in(app.test_client(), counselor)
    token = csrf_of(other.get("/console/links"))
    assert browser.post("/console/links", data={"csrf_token": token}).status_code == 400


def test_another_couples_pages_are_a_plain_404_and_nothing_is_done(app, linked, browser, carol):
    other = carol.get("/couple").get_json()["id"]
    for url in [
        f"/console/couples/{other}",
        f"/console/couples/{other}/exercises/new",
        f"/console/couples/{other}/end",
        "/console/couples/no-such-id",
    ]:
        response = browser.get(url)
        assert response.status_code == 404, url
        assert "Not found" in text_of(response) and "Carol" not in text_of(response)
    token = csrf_of(browser.get("/console/"))
    for action in (f"/console/couples/{other}/exercises", f"/console/couples/{other}/end"):
        response = browser.post(
            action, data={"csrf_token": token, "kind": "reflection", "instructions": "x"}
        )
        assert response.status_code == 404
    assert carol.get("/couple/exercises").get_json() == []


def test_pages_need_a_signed_in_counselor(app, linked):
    anonymous = app.test_client()
    for url in pages(linked["id"])[:5]:
        response = anonymous.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")


def test_a_pending_link_shows_no_couple(app, alice, bob, couple, counselor):
    propose(alice, counselor, "shared_content")
    browser = signed_in(app.test_client(), counselor)
    assert browser.get(f"/console/couples/{couple['id']}").status_code == 404
    assert "No couple is linked to you yet" in text_of(browser.get("/console/"))


def test_a_code_from_another_counselor_links_them_not_me(app, alice, couple, counselor):
    other = make_counselor(app, "dr.other@example.com", "Dr Other")
    alice.post("/couple/counselor-links", json={"code": link_code(other)})
    browser = signed_in(app.test_client(), counselor)
    assert "No link is waiting" in text_of(browser.get("/console/links"))


def test_a_couple_whose_partner_left_is_no_longer_shown(app, alice, bob, linked, browser):
    alice.post("/couple/leave", json={})
    assert browser.get(f"/console/couples/{linked['id']}").status_code == 404


def test_every_console_route_is_for_a_signed_in_counselor_only(app, linked):
    """The route walk of the console (tests/test_authorization.py walks the API's)."""
    public = {"/console/sign-in", "/console/static/<path:filename>", "/console/<path:anything>"}
    anonymous = app.test_client()
    walked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.rule in public:
            continue
        url = rule.rule.replace("<couple_id>", linked["id"])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            token = csrf_of(anonymous.get("/console/sign-in"))
            response = anonymous.open(url, method=method, data={"csrf_token": token})
            if rule.rule == "/console/sign-out":
                assert response.status_code == 303  # signing out needs no login
                continue
            assert response.status_code == 302, (method, url)
            assert response.headers["Location"].endswith("/console/sign-in")
            walked += 1
    assert walked >= 8


def test_the_demo_counselor_signs_in_to_the_console_as_the_readme_says(app):
    from backend.demo import COUNSELOR, PASSWORD, build_demo, describe

    assert "/console/" in describe(build_demo())
    browser = app.test_client()
    token = csrf_of(browser.get("/console/sign-in"))
    signed = browser.post(
        "/console/sign-in", data={"email": COUNSELOR, "password": PASSWORD, "csrf_token": token}
    )
    assert signed.status_code == 303
    page = text_of(browser.get("/console/"))
    assert "Alex &amp; Sam" in page and "Check-ins revealed" in page
    couple = page.split('href="/console/couples/')[1].split('"')[0]
    assert browser.get(f"/console/couples/{couple}").status_code == 200
