"""Sixteen clients at once on one couple: one reveal, one activation, one step, nothing lost."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from backend.agreements.models import AgreementConsent
from backend.checkins.models import Answer
from backend.extensions import db
from backend.timeline.models import TimelineEvent
from tests.conversations.helpers import start
from tests.helpers import ApiClient, answers_for

CLIENTS = 16


def clients_of(user: ApiClient, app, count: int) -> list[ApiClient]:
    """Several clients (phones, tabs) logged in as the same person."""
    return [ApiClient(app.test_client(), dict(user.tokens)) for _ in range(count)]


def run_together(app, calls) -> list[int]:
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(call):
        with app.app_context():
            barrier.wait()
            status = call().status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def events(kind: str) -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(TimelineEvent).where(TimelineEvent.kind == kind)
    )


def test_sixteen_clients_on_one_couple_keep_every_invariant(app, alice, bob, couple):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    agreement = alice.post(
        "/couple/agreements",
        json={"title": "T", "items": [{"category": "plans", "text": "We share plans."}]},
    ).get_json()
    conversation = start(alice, "processing_a_trigger", "hurt_partner", alice)
    alice.post(f"/conversations/{conversation['id']}/entries", json={"text": "It hurt."})
    alices = clients_of(alice, app, CLIENTS // 2)
    bobs = clients_of(bob, app, CLIENTS // 2)
    answers = answers_for(checkin)
    calls = []
    for n, (a, b) in enumerate(zip(alices, bobs, strict=True)):
        url = f"/checkins/{checkin['id']}/answers"
        calls.append(lambda a=a, url=url: a.put(url, json={"answers": answers, "submit": True}))
        calls.append(lambda b=b, url=url: b.put(url, json={"answers": answers, "submit": True}))
        if n % 2:
            calls.append(
                lambda b=b: b.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
            )
        calls.append(lambda a=a: a.post(f"/conversations/{conversation['id']}/ready"))
        calls.append(lambda b=b: b.post(f"/conversations/{conversation['id']}/ready"))
        calls.append(lambda a=a: a.post("/me/notifications/read", json={"all": True}))
    statuses = run_together(app, calls)
    assert 500 not in statuses and 503 not in statuses
    # exactly one reveal, one activation, one step advance
    assert events("checkin_revealed") == 1
    assert events("agreement_activated") == 1
    assert events("conversation_step_completed") == 1
    view = alice.get(f"/checkins/{checkin['id']}").get_json()
    assert view["status"] == "revealed"
    # no lost update: each partner's answers are there once, none doubled
    per_person = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))
    assert per_person == 2 * len(answers)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AgreementConsent)) == 2
    assert (
        alice.get(f"/conversations/{conversation['id']}").get_json()["current_step"]["index"] == 1
    )
    # One reveal notification each, however the requests interleaved. Alice's "read all" ran
    # among the writes, so the reveal may have come after her last one: read all once more.
    revealed = [
        n
        for n in alice.get("/me/notifications").get_json()["items"]
        if n["kind"] == "checkin_revealed"
    ]
    assert len(revealed) == 1
    assert alice.post("/me/notifications/read", json={"all": True}).status_code < 300
    assert alice.get("/me/notifications?unread=true").get_json()["items"] == []
