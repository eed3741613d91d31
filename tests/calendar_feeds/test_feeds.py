"""Calendar feeds: a partner puts the couple's upcoming dates in their own calendar app, through
a private address that stops at once when revoked or when the couple ends."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import time_machine
from icalendar import Calendar

from backend.calendar_feeds.models import CalendarFeed
from backend.calendar_feeds.service import MAX_FEEDS
from backend.extensions import db
from tests.helpers import (
    PASSWORD,
    ApiClient,
    assert_problem,
    make_counselor,
    make_partner,
    ok_text,
    pair,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# A Thursday in October 2030; Europe/Berlin leaves summer time on Sunday 27 October 2030, and
# America/New_York on Sunday 3 November.
STORY = datetime(2030, 10, 10, 10, 0, tzinfo=UTC)
TITLES = {"Trustline check-in", "Trustline agreement review", "Trustline exercise due"}


def make_feed(person: ApiClient, **body: object) -> dict:
    response = person.post("/me/calendar-feeds", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def fetch(app, feed: dict):
    """What a calendar app gets from the feed's address: no login, only the address."""
    return app.test_client().get(urlsplit(feed["url"]).path)


def events_of(response) -> list:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data).walk("VEVENT")


def feed_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CalendarFeed))


def stale(person: ApiClient) -> ApiClient:
    """The same login after a refresh, as an app holds it most of the time: never fresh."""
    response = person.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": person.tokens["refresh_token"]}
    )
    assert response.status_code == 200, response.get_json()
    return ApiClient(person.client, response.get_json())


def test_a_partner_makes_a_feed_and_their_calendar_app_reads_it(app, alice, bob, couple):
    alice.post(
        "/couple/schedules",
        json={"prompt_set": "daily_pulse", "frequency": "daily", "local_time": "20:00"},
    )
    feed = make_feed(alice, label="  Phone calendar  ")
    assert feed["label"] == "Phone calendar" and feed["last_fetched_at"] is None
    assert feed["url"].startswith("http://localhost/api/v1/calendar/")
    assert feed["url"].endswith(".ics")
    assert feed["webcal_url"] == "webcal://" + feed["url"].removeprefix("http://")
    token = urlsplit(feed["url"]).path.rsplit("/", 1)[1].removesuffix(".ics")
    assert len(token) >= 43  # 32 random bytes
    # Only a hash of the token is kept
    stored = db.session.get(CalendarFeed, feed["id"])
    assert token not in stored.token_hash

    fetched = fetch(app, feed)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in fetched.data
    assert fetched.headers["Cache-Control"] == "private, no-cache"
    events = events_of(fetched)
    assert events and {str(e["SUMMARY"]) for e in events} == {"Trustline check-in"}
    assert len(events) >= 8 * 7 - 1  # daily, for the next eight weeks

    [listed] = alice.get("/me/calendar-feeds").get_json()["items"]
    assert listed["id"] == feed["id"] and listed["label"] == "Phone calendar"
    assert listed["last_fetched_at"] is not None
    assert "url" not in listed and token not in ok_text(alice.get("/me/calendar-feeds"))
    assert bob.get("/me/calendar-feeds").get_json()["items"] == []  # Alice's, not Bob's
    # Alice's own feed tells her, as for a new device; Bob is told nothing.
    [notice] = alice.get("/me/notifications").get_json()["items"][:1]
    assert notice["kind"] == "calendar_feed_added"
    assert "calendar_feed_added" not in ok_text(bob.get("/me/notifications"))


def test_a_checkin_at_seven_in_berlin_stays_at_seven_across_the_october_change(app):
    with time_machine.travel(STORY, tick=False):
        alice = make_partner(app, "alice@example.com", "Alice")
        bob = make_partner(app, "bob@example.com", "Bob")
        pair(alice, bob)
        alice.patch("/me", json={"timezone": "Europe/Berlin"})
        bob.patch("/me", json={"timezone": "America/New_York"})
        alice.patch("/couple", json={"timezone": "Europe/Berlin"})
        alice.post(
            "/couple/schedules",
            json={"prompt_set": "daily_pulse", "frequency": "daily", "local_time": "19:00"},
        )
        alices = Calendar.from_ical(fetch(app, make_feed(alice)).data)
        bobs = Calendar.from_ical(fetch(app, make_feed(bob)).data)

    starts = [e.start for e in alices.walk("VEVENT")]
    assert [tz.tz_name for tz in alices.timezones] == ["Europe/Berlin"]
    assert all(s.tzinfo.key == "Europe/Berlin" and s.time() == time(19, 0) for s in starts)
    by_day = {s.date(): s.astimezone(UTC) for s in starts}
    assert by_day[date(2030, 10, 26)] == datetime(2030, 10, 26, 17, 0, tzinfo=UTC)  # CEST
    assert by_day[date(2030, 10, 27)] == datetime(2030, 10, 27, 18, 0, tzinfo=UTC)  # CET
    assert min(by_day) == date(2030, 10, 10) and max(by_day) <= date(2030, 12, 5)
    assert all(e.duration == timedelta(minutes=15) for e in alices.walk("VEVENT"))
    # Bob's feed: the same moments, in his own zone.
    bob_starts = {e.start.astimezone(UTC): e.start for e in bobs.walk("VEVENT")}
    assert set(bob_starts) == set(by_day.values())
    assert [tz.tz_name for tz in bobs.timezones] == ["America/New_York"]
    assert bob_starts[datetime(2030, 10, 28, 18, 0, tzinfo=UTC)].time() == time(14, 0)  # EDT
    assert bob_starts[datetime(2030, 11, 4, 18, 0, tzinfo=UTC)].time() == time(13, 0)  # EST
    # The same occurrence keeps its UID from one fetch to the next.
    uids = {str(e["UID"]) for e in alices.walk("VEVENT")}
    assert len(uids) == len(starts)


def test_reviews_and_due_dates_are_all_day_and_nothing_in_the_feed_names_anyone(app):
    with time_machine.travel(STORY, tick=False):
        alice = make_partner(app, "alice@example.com", "Alice Wonder")
        bob = make_partner(app, "bob@example.com", "Bob Builder")
        couple = pair(alice, bob)
        weekly = {
            "prompt_set": "daily_pulse",
            "frequency": "weekly",
            "weekdays": ["sun"],
            "local_time": "20:00",
        }
        assert alice.post("/couple/schedules", json=weekly).status_code == 201
        agreement = alice.post(
            "/couple/agreements",
            json={
                "title": "Phones on the table",
                "review_on": "2030-11-01",
                "items": [
                    {"category": "plans", "text": "We share plans.", "review_on": "2030-10-20"}
                ],
            },
        ).get_json()
        bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
        from tests.counseling.helpers import link

        counselor = make_counselor(app, "dr.kim@example.com", "Dr Kim")
        link(alice, bob, counselor)
        counselor.post(
            f"/counselor/couples/{couple['id']}/exercises",
            json={"kind": "reflection", "prompts": ["What helped?"], "due_on": "2030-10-18"},
        )
        response = fetch(app, make_feed(alice))

    text = response.get_data(as_text=True)
    events = events_of(response)
    assert {str(e["SUMMARY"]) for e in events} == TITLES
    all_day = sorted((e.start, str(e["SUMMARY"])) for e in events if type(e.start) is date)
    assert all_day == [
        (date(2030, 10, 18), "Trustline exercise due"),
        (date(2030, 10, 20), "Trustline agreement review"),
        (date(2030, 11, 1), "Trustline agreement review"),
    ]
    for secret in ("Alice", "Wonder", "Bob", "Builder", "Dr Kim", "Phones on the table",
                   "We share plans", "What helped", "daily_pulse", "DESCRIPTION",
                   couple["id"], agreement["id"]):  # fmt: skip
        assert secret not in text, secret


def test_a_label_that_is_empty_or_too_long_is_refused_naming_it(alice, couple):
    for label in ("   ", "x" * 61, 7):
        assert_problem(alice.post("/me/calendar-feeds", json={"label": label}), 422, "label")
    assert_problem(alice.post("/me/calendar-feeds", json={"colour": "red"}), 422, "colour")
    assert feed_count() == 0


def test_making_a_feed_needs_a_fresh_login_like_export(alice, couple):
    refreshed = stale(alice)
    refused = assert_problem(refreshed.post("/me/calendar-feeds", json={}), 401)
    export = assert_problem(refreshed.get("/me/export"), 401)
    assert refused["detail"] == export["detail"]
    assert feed_count() == 0
    # Listing and revoking are stepping back: no fresh login.
    feed = make_feed(alice)
    assert refreshed.get("/me/calendar-feeds").status_code == 200
    assert refreshed.delete(f"/me/calendar-feeds/{feed['id']}").status_code == 204


def test_a_partner_not_in_a_couple_gets_404_and_a_counselor_too(app, alice, counselor):
    assert_problem(alice.post("/me/calendar-feeds", json={}), 404)
    assert_problem(counselor.post("/me/calendar-feeds", json={}), 404)
    assert_problem(counselor.get("/me/calendar-feeds"), 404)
    assert feed_count() == 0


def test_another_partners_feed_cannot_be_revoked(app, alice, couple, carol):
    feed = make_feed(alice)
    assert_problem(carol.delete(f"/me/calendar-feeds/{feed['id']}"), 404)
    assert_problem(carol.delete("/me/calendar-feeds/no-such-feed"), 404)
    assert fetch(app, feed).status_code == 200


def test_a_revoked_feed_answers_404_at_once(app, alice, couple):
    feed, other = make_feed(alice), make_feed(alice)
    assert fetch(app, feed).status_code == 200
    assert alice.delete(f"/me/calendar-feeds/{feed['id']}").status_code == 204
    assert_problem(fetch(app, feed), 404)
    assert fetch(app, other).status_code == 200
    assert [f["id"] for f in alice.get("/me/calendar-feeds").get_json()["items"]] == [other["id"]]
    assert_problem(alice.delete(f"/me/calendar-feeds/{feed['id']}"), 404)


def test_when_a_partner_leaves_both_feeds_answer_404_at_once(app, alice, bob, couple):
    alices, bobs = make_feed(alice), make_feed(bob)
    assert bob.post("/couple/leave", json={}).status_code == 200
    assert_problem(fetch(app, alices), 404)
    assert_problem(fetch(app, bobs), 404)
    assert alice.get("/me/calendar-feeds").get_json()["items"] == []
    # Pairing again makes a new couple; an old address never shows it.
    pair(alice, make_partner(app, "chris@example.com", "Chris"))
    assert_problem(fetch(app, alices), 404)


def test_an_erased_partners_feed_answers_404_and_leaves_no_trace(app, alice, bob, couple):
    feed = make_feed(alice, label="Alice's secret calendar")
    assert alice.delete("/me", json={"password": PASSWORD}).status_code == 204
    assert_problem(fetch(app, feed), 404)
    assert feed_count() == 0


def test_unknown_addresses_are_rate_limited_per_client_address(app, alice, couple):
    feed = make_feed(alice)
    scanner = {"REMOTE_ADDR": "203.0.113.7"}
    anonymous = app.test_client()
    for n in range(60):
        guess = anonymous.get(f"/api/v1/calendar/guess{n}.ics", environ_base=scanner)
        assert guess.status_code == 404
    limited = anonymous.get("/api/v1/calendar/one-more.ics", environ_base=scanner)
    assert "calendar" in assert_problem(limited, 429)["detail"]
    assert int(limited.headers["Retry-After"]) >= 1
    # Only failures count, per address: the owner's calendar app elsewhere is not held up.
    owners = {"REMOTE_ADDR": "198.51.100.20"}
    assert anonymous.get(urlsplit(feed["url"]).path, environ_base=owners).status_code == 200


def test_there_is_a_most_feeds_per_person(alice, couple):
    for _ in range(MAX_FEEDS):
        make_feed(alice)
    assert_problem(alice.post("/me/calendar-feeds", json={}), 409)
    assert feed_count() == MAX_FEEDS


def test_my_export_lists_my_feeds_but_never_their_addresses(app, alice, bob, couple):
    feed = make_feed(alice, label="Phone calendar")
    fetch(app, feed)
    make_feed(bob)
    document = alice.get("/me/export").get_json()
    assert [(f["id"], f["label"]) for f in document["calendar_feeds"]] == [
        (feed["id"], "Phone calendar")
    ]
    assert document["calendar_feeds"][0]["last_fetched_at"] is not None
    token = urlsplit(feed["url"]).path.rsplit("/", 1)[-1].removesuffix(".ics")
    assert token not in ok_text(alice.get("/me/export"))
