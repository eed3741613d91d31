"""The couple page charts the questionnaire scores of each partner who shares them with this
counselor, through the measures' counselor view, and shows nothing of a partner who doesn't:
not a title, not a score, not that they answered."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from backend import clock
from backend.console import present
from tests.console.helpers import post_form, signed_in, text_of
from tests.counseling.helpers import link
from tests.helpers import make_counselor, make_partner, pair
from tests.measures.helpers import phq9_answers, published_measure, share, start, submit

NOBODY_SHARES = "Scores appear here when a partner chooses to share them."
TRUST_ITEMS = ["count_on", "raise_worries", "benefit_of_doubt", "at_ease", "own_word"]


def trust_answers(value: int, note: str | None = None) -> list[dict]:
    """Answers to "Trust this week": every scored item `value`, and perhaps a short text."""
    answers = [{"item": key, "value": value} for key in TRUST_ITEMS]
    return answers + ([{"item": "small_step", "value": note}] if note else [])


def today() -> str:
    """Today as the console writes a day, in Dr Kim's time zone."""
    return present.local_day(present.today_in("UTC"))


def section(page: str) -> str:
    """The page's questionnaires section."""
    found = re.search(
        r'<section class="card" id="questionnaires".*?(?=<section class="card")', page, re.S
    )
    assert found, page[:2000]
    return found.group(0)


def digest(page: str) -> str:
    """The couple page's "since your last visit" digest."""
    found = re.search(r'<section class="digest".*?</section>', page, re.S)
    assert found, page[:2000]
    return found.group(0)


@pytest.fixture
def linked(alice, bob, couple, counselor):
    """Dr Kim, linked to Alice and Bob with scope progress (sharing scores is each partner's
    own choice, whatever the scope); the link as the couple sees it."""
    return link(alice, bob, counselor, "progress")


@pytest.fixture
def browser(app, counselor, linked):
    """Dr Kim's browser, signed in."""
    return signed_in(app.test_client(), counselor)


def test_a_sharing_partners_scores_are_charted_per_measure_with_their_bands(
    alice, bob, couple, linked, browser
):
    for values in ((1,), (3, 3, 3, 2)):
        submit(alice, start(alice)["id"], phq9_answers(*values))
    submit(alice, start(alice, "trust_week")["id"], trust_answers(3))
    submit(bob, start(bob, "gad7")["id"], [{"item": f"gad7_{n}", "value": 2} for n in range(1, 8)])
    share(alice, linked["id"])

    page = text_of(browser.get(f"/console/couples/{couple['id']}"))
    shown = section(page)
    assert "Alice shares questionnaire scores with you." in shown
    assert NOBODY_SHARES in shown  # Bob doesn't: nothing more is said of him
    phq9, trust = re.split(r'<section class="measure"', shown)[1:]
    assert "PHQ-9" in phq9 and "Validated instrument" in phq9
    assert "Trust this week" in trust and "Trustline check, not a validated instrument" in trust
    # two points on the line, each with its value and its band in words, in the SVG and table
    assert phq9.count('class="point"') == 2 and "<path d=" in phq9
    for score, band in ((1, "Minimal"), (11, "Moderate")):
        assert f"Alice, {today()}: {score} ({band})</title>" in phq9
        assert f"<td>Alice</td><td>{today()}</td><td>{score}</td><td>{band}</td>" in phq9
    assert f"Alice (2 scores): latest 11, Moderate, {today()}" in phq9
    assert trust.count('class="point"') == 1
    # Bob's questionnaire is nowhere, nor that he answered one
    assert "GAD-7" not in page and "Bob shares" not in page


def test_nothing_of_a_partner_who_does_not_share_appears(alice, bob, couple, linked, browser):
    url = f"/console/couples/{couple['id']}"
    before = section(text_of(browser.get(url)))
    assert NOBODY_SHARES in before and "<svg" not in before and "shares" not in before

    submit(bob, start(bob)["id"], phq9_answers(3, 3, 3))
    submit(alice, start(alice, "trust_week")["id"], trust_answers(1, "a note"))
    page = text_of(browser.get(url))
    assert section(page) == before
    for hint in ("PHQ-9", "Trust this week", "Questionnaires completed", "a note"):
        assert hint not in page, hint
    assert "Questionnaires completed" not in text_of(browser.get("/console/"))


def test_turning_sharing_off_takes_the_scores_off_the_page_at_once(
    alice, bob, couple, linked, browser
):
    url = f"/console/couples/{couple['id']}"
    before = section(text_of(browser.get(url)))
    submit(alice, start(alice)["id"], phq9_answers(2))
    share(alice, linked["id"])
    assert "PHQ-9" in section(text_of(browser.get(url)))

    off = alice.put("/me/measure-sharing", json={"counselor_link_id": linked["id"], "share": False})
    assert off.status_code == 200, off.get_json()
    page = text_of(browser.get(url))
    assert section(page) == before
    assert "PHQ-9" not in page and "Questionnaires completed" not in page
    assert "PHQ-9" not in text_of(browser.get("/console/"))


def test_a_partner_sharing_with_another_counselor_shows_this_one_nothing(
    app, alice, bob, couple, linked, browser
):
    other = make_counselor(app, "dr.lee@example.com", "Dr Lee")
    theirs = link(alice, bob, other, "progress")
    submit(alice, start(alice)["id"], phq9_answers(2))
    share(alice, theirs["id"])
    page = text_of(browser.get(f"/console/couples/{couple['id']}"))
    assert "PHQ-9" not in page and NOBODY_SHARES in section(page)
    assert "PHQ-9" in section(
        text_of(signed_in(app.test_client(), other).get(f"/console/couples/{couple['id']}"))
    )


def test_the_digest_counts_questionnaires_completed_by_a_sharing_partner(
    alice, bob, couple, linked, browser
):
    url = f"/console/couples/{couple['id']}"
    browser.get(url)  # a first visit: what follows is new
    share(alice, linked["id"])
    submit(alice, start(alice)["id"], phq9_answers(1))
    submit(bob, start(bob)["id"], phq9_answers(2))  # Bob doesn't share

    # the next visits come a minute later (the digest tells an event of a visit's own second
    # again, rather than miss it)
    with time_machine.travel(clock.now() + timedelta(minutes=1), tick=False):
        for page in (text_of(browser.get("/console/")), text_of(browser.get(url))):
            told = digest(page)
            assert "Questionnaires completed by a sharing partner: 1" in told
            assert "Alice completed PHQ-9" in told and "Bob" not in told
        # seen once: the next visit has nothing new
        assert "Questionnaires completed" not in digest(text_of(browser.get(url)))


def test_a_counselors_own_questionnaire_is_named_as_theirs(
    alice, bob, couple, linked, browser, counselor
):
    measure = published_measure(counselor)
    response = start(alice, measure["key"])
    answers = [{"item": "felt_heard", "value": 3}, {"item": "safe_home", "value": "yes"}]
    submit(alice, response["id"], answers)
    share(alice, linked["id"])
    shown = section(text_of(browser.get(f"/console/couples/{couple['id']}")))
    assert "Between sessions" in shown
    assert "Your own questionnaire, not a validated instrument" in shown
    assert re.search(r"<td>3</td><td>Higher</td>", shown)


def test_an_urgent_alert_names_the_measure_never_the_answer_until_marked_read(
    app, alice, bob, couple, linked, browser, counselor
):
    share(alice, linked["id"], alert=True)
    submit(alice, start(alice)["id"], phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 2))
    url = f"/console/couples/{couple['id']}"
    page = text_of(browser.get(url))
    urgent = re.search(r'<section class="urgent".*?</section>', page, re.S).group(0)
    assert "Urgent: a risk answer on a questionnaire" in urgent and "PHQ-9" in urgent
    assert "better off dead" not in page and "More than half the days" not in page

    # another counselor can't mark it (nor see this couple): a plain 404, nothing changed
    stranger = signed_in(app.test_client(), make_counselor(app, "x@example.com", "Dr X"))
    refused = post_form(stranger, "/console/", f"{url}/alerts/read", {"alert": "anything"})
    assert refused.status_code == 404
    assert 'class="urgent"' in text_of(browser.get(url))

    ids = re.findall(r'name="alert" value="([^"]+)"', page)
    marked = post_form(browser, url, f"{url}/alerts/read", {"alert": ids})
    assert marked.status_code == 303
    assert 'class="urgent"' not in text_of(browser.get(url))
    # the counselor's own feed, through the API, agrees: it was read
    feed = counselor.get("/me/notifications?unread=true").get_json()["items"]
    assert not [n for n in feed if n["kind"] == "measure_risk_alert"]


def test_another_couples_alerts_and_scores_stay_there(app, alice, bob, couple, linked, browser):
    carol = make_partner(app, "carol@example.com", "Carol")
    dave = make_partner(app, "dave@example.com", "Dave")
    other = pair(carol, dave)
    theirs = link(carol, dave, make_counselor(app, "t@example.com", "Dr T"), "progress")
    share(carol, theirs["id"], alert=True)
    submit(carol, start(carol)["id"], phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 1))
    page = text_of(browser.get(f"/console/couples/{couple['id']}"))
    assert "PHQ-9" not in page and "Urgent" not in page and "Carol" not in page
    assert browser.get(f"/console/couples/{other['id']}").status_code == 404
