"""The console shows a counselor nothing private and nothing of a couple not linked to them.

Unique markers go into every private field (a private answer, a draft, an answer not yet
revealed, the journal, the safety check, a partner's own sign-in and device, the short-text
answers of a questionnaire whose scores are shared and of one whose are not) and into another
couple's data; every console page is then crawled, link by link, as counselors of each scope
and as a revoked, a pending and an unlinked counselor. No marker may appear anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.console.helpers import answer, signed_in, text_of
from tests.conversations.helpers import start
from tests.counseling.helpers import link, propose
from tests.helpers import PASSWORD, answers_for, make_counselor, make_partner, pair
from tests.measures.helpers import share
from tests.measures.helpers import start as start_measure
from tests.measures.helpers import submit as submit_measure

PRIVATE_ANSWER = "marker-private-answer-4b1d"
DRAFT = "marker-draft-never-sent-9c2e"
UNREVEALED = "marker-submitted-not-revealed-77aa"
JOURNAL_TITLE = "marker-journal-title-a81f"
JOURNAL_TEXT = "marker-journal-text-03cd"
OWN_DEVICE = "marker-alices-phone-5e0b"
SHARED = "marker-shared-answer-62fe"  # allowed with scope shared_content, and only then
ENTRY = "marker-conversation-entry-d3d3"
OTHER_SHARED = "marker-other-couples-answer-1c9a"
OTHER_NAMES = ("Zephyrine", "Quillon")
# short texts of questionnaires: never shown to a counselor, shared scores or not
MEASURE_TEXT_SHARED = "marker-shared-measure-note-0f5a"
MEASURE_TEXT_NOT_SHARED = "marker-unshared-measure-note-b7c1"
TRUST_ITEMS = ("count_on", "raise_worries", "benefit_of_doubt", "at_ease", "own_word")
HREF = re.compile(r'href="(/console/[^"#]*)')


@pytest.fixture
def world(app, alice, bob, couple):
    """Alice and Bob with private things of every kind; Zephyrine and Quillon, another couple
    with a counselor of their own; and five counselors, one per kind of (no) link."""
    counselors = {
        name: make_counselor(app, f"{name}@example.com", f"Dr {name.title()}")
        for name in ("progress", "shared", "revoked", "pending", "unlinked")
    }
    link(alice, bob, counselors["progress"], "progress")
    shared_link = link(alice, bob, counselors["shared"], "shared_content")
    ended = link(alice, bob, counselors["revoked"], "shared_content")
    propose(alice, counselors["pending"], "shared_content")

    # a revealed check-in: one private answer, the rest shared
    revealed = alice.post("/couple/checkins", json={"prompt_set": "weekly_trust_checkin"})
    checkin = revealed.get_json()
    answers = answers_for(checkin, text=SHARED)
    texts = [a for a in answers if a["value"] == SHARED]
    texts[0].update(value=PRIVATE_ANSWER, visibility="private")
    alice.put(f"/checkins/{checkin['id']}/answers", json={"answers": answers, "submit": True})
    answer(bob, checkin["id"], text=SHARED)
    # a draft, and an answer submitted but not revealed (the partner has not answered)
    open_one = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    answer(alice, open_one["id"], submit=False, text=DRAFT)
    another = alice.post("/couple/checkins", json={"prompt_set": "weekly_trust_checkin"})
    answer(bob, another.get_json()["id"], text=UNREVEALED)
    # a conversation entry (shared with the couple, and with shared_content)
    talk = start(alice, "processing_a_trigger", "hurt_partner", alice)
    alice.post(f"/conversations/{talk['id']}/entries", json={"text": ENTRY})
    # the journal, the safety check, a sign-in and a device of Alice's own
    alice.post("/me/journal", json={"title": JOURNAL_TITLE, "text": JOURNAL_TEXT})
    questions = [q["key"] for q in alice.get("/me/safety-check").get_json()["questions"]]
    replies = {key: "yes" if n == 0 else "unsure" for n, key in enumerate(questions)}
    check = alice.put("/me/safety-check", json={"answers": replies})
    assert check.status_code == 200, check.get_json()
    login = {"email": alice.user["email"], "password": PASSWORD, "client_label": OWN_DEVICE}
    alice.tokens = alice.client.post("/api/v1/auth/login", json=login).get_json()
    # questionnaires: Alice shares her scores with the shared_content counselor, Bob with
    # nobody; each wrote a short text, which no counselor may ever read
    for partner, note in ((alice, MEASURE_TEXT_SHARED), (bob, MEASURE_TEXT_NOT_SHARED)):
        answers = [{"item": key, "value": 2} for key in TRUST_ITEMS]
        submit_measure(
            partner,
            start_measure(partner, "trust_week")["id"],
            [*answers, {"item": "small_step", "value": note}],
        )
    gad7 = [{"item": f"gad7_{n}", "value": 1} for n in range(1, 8)]
    submit_measure(bob, start_measure(bob, "gad7")["id"], gad7)
    share(alice, shared_link["id"])
    # exercises of every kind, one of them done
    for body in (
        {"kind": "checkin", "template": "daily_pulse"},
        {"kind": "conversation", "template": "processing_a_trigger"},
        {"kind": "reflection", "instructions": "Write about a good day.", "due_on": None},
    ):
        counselors["shared"].post(f"/counselor/couples/{couple['id']}/exercises", json=body)
    bob.delete(f"/counselor-links/{ended['id']}")

    # another couple, with their own counselor and content
    zephyrine = make_partner(app, "zephyrine@example.com", OTHER_NAMES[0])
    quillon = make_partner(app, "quillon@example.com", OTHER_NAMES[1])
    other = pair(zephyrine, quillon)
    theirs = make_counselor(app, "theirs@example.com", "Dr Theirs")
    link(zephyrine, quillon, theirs, "shared_content")
    other_checkin = zephyrine.post("/couple/checkins", json={"prompt_set": "weekly_trust_checkin"})
    for partner in (zephyrine, quillon):
        answer(partner, other_checkin.get_json()["id"], text=OTHER_SHARED)
    theirs.post(
        f"/counselor/couples/{other['id']}/exercises",
        json={"kind": "reflection", "instructions": OTHER_SHARED},
    )

    safety = alice.get("/me/safety-check").get_json()
    safety_words = [q["text"] for q in safety["questions"]]
    safety_words += [v for v in (safety.get("result"), safety.get("intro")) if v and len(v) > 12]
    scale = [p["key"] for p in alice.get("/prompts").get_json() if p["kind"] == "scale"]
    return {
        "counselors": counselors,
        "couples": [couple["id"], other["id"]],
        "scale": scale,
        "never": [
            PRIVATE_ANSWER,
            DRAFT,
            UNREVEALED,
            JOURNAL_TITLE,
            JOURNAL_TEXT,
            OWN_DEVICE,
            OTHER_SHARED,
            *OTHER_NAMES,
            MEASURE_TEXT_SHARED,
            MEASURE_TEXT_NOT_SHARED,
            "GAD-7",  # Bob's, and Bob shares with nobody
            "@example.com",
            *safety_words,
        ],
    }


def crawl(browser: FlaskClient, starts: list[str]) -> Iterator[tuple[str, str]]:
    """Every console page reachable from `starts` by following links: (url, headers + body)."""
    seen: set[str] = set()
    queue = list(starts)
    while queue:
        url = queue.pop(0)
        if url in seen or url.startswith("/console/static/"):
            continue
        seen.add(url)
        response = browser.get(url)
        assert response.status_code in (200, 302, 404), (url, response.status_code)
        page = text_of(response)
        yield url, str(response.headers) + page
        queue += [href.replace("&amp;", "&") for href in HREF.findall(page)]


@pytest.mark.parametrize("who", ["progress", "shared", "revoked", "pending", "unlinked"])
def test_no_console_page_shows_anything_private_or_of_another_couple(app, world, who):
    browser = signed_in(app.test_client(), world["counselors"][who])
    starts = ["/console/", "/console/links"]
    for couple_id in world["couples"]:
        base = f"/console/couples/{couple_id}"
        starts += [base, f"{base}/exercises/new", f"{base}/end"]
        starts += [f"{base}?prompt={key}" for key in world["scale"]]
    pages = 0
    shown = ""
    for url, text in crawl(browser, starts):
        pages += 1
        for marker in world["never"]:
            assert marker not in text, (who, url, marker)
        shown += text
    assert pages >= len(starts)
    # the crawl does reach what each counselor may see: shared words with shared_content only
    assert (SHARED in shown) == (who == "shared")
    assert (ENTRY in shown) is False  # conversations are not on the console's pages
    # Alice's scores reach the counselor she shares them with, and only them
    assert ("Trust this week" in shown) == (who == "shared")
    linked_pages = [u for u in starts if world["couples"][0] in u]
    statuses = {browser.get(u).status_code for u in linked_pages}
    assert statuses == ({200} if who in ("progress", "shared") else {404})
