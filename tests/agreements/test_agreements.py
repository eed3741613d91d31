"""Transparency agreements: mutual, versioned, consented to by both, withdrawn by either."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from backend.agreements.library import guidance
from backend.agreements.models import Agreement
from backend.extensions import db
from backend.notifications.models import Notification
from backend.timeline.models import TimelineEvent
from tests.helpers import assert_problem

ITEM_TEXT = "We each tell the other the same day if the person involved gets in touch."
DRAFT = {
    "title": "Our first weeks",
    "items": [
        {"category": "contact", "text": ITEM_TEXT, "applies_to": "both"},
        {"category": "plans", "text": "We share plans for evenings out.", "applies_to": "both"},
    ],
}


def draft(user, **overrides):
    response = user.post("/couple/agreements", json={**DRAFT, **overrides})
    assert response.status_code == 201, response.get_json()
    return response


def told(user, kind) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.user["id"], Notification.kind == kind)
    )


def amend(user, agreement_id, etag, **body):
    headers = {"If-Match": etag} if etag else {}
    return user.post(
        f"/agreements/{agreement_id}/versions",
        json={"items": DRAFT["items"], **body},
        headers=headers,
    )


def test_drafting_proposes_version_one_which_counts_as_the_proposers_consent(alice, bob, couple):
    response = draft(alice)
    body = response.get_json()
    assert response.headers["ETag"]
    assert body["status"] == "proposed" and body["active_version"] is None
    proposal = body["pending_proposal"]
    assert proposal["number"] == 1
    assert [c["user"]["id"] for c in proposal["consents"]] == [alice.user["id"]]
    assert body["reciprocity"] == "mutual" and body["guidance"] == guidance("mutual")
    assert date.fromisoformat(body["ends_on"]) == date.today() + timedelta(days=90)
    assert told(bob, "agreement_proposed") == 1 and told(alice, "agreement_proposed") == 0
    assert [i["applies_to"] for i in proposal["items"]] == ["both", "both"]


def test_partner_consents_and_it_is_in_force(alice, bob, couple):
    agreement = draft(alice).get_json()
    response = bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "active" and body["active_version"]["number"] == 1
    assert body["pending_proposal"] is None
    assert told(alice, "agreement_activated") == told(bob, "agreement_activated") == 1
    kinds = [e["kind"] for e in alice.get("/couple/timeline").get_json()["items"]]
    assert kinds[:2] == ["agreement_activated", "agreement_proposed"]


def test_the_answer_to_a_consent_is_what_reading_the_agreement_shows_next(alice, bob, couple):
    agreement = draft(alice).get_json()
    consented = bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
    assert consented.status_code == 200, consented.get_json()
    read = bob.get(f"/agreements/{agreement['id']}")
    assert consented.get_json() == read.get_json()
    assert consented.headers["ETag"] == read.headers["ETag"] != f'"{agreement["id"]}.1"'


def test_applies_to_is_stored_as_who_it_binds_and_shown_from_each_side(alice, bob, couple):
    agreement = draft(
        alice, items=[{"category": "finances", "text": "I share statements.", "applies_to": "me"}]
    ).get_json()
    alice_view = alice.get(f"/agreements/{agreement['id']}").get_json()
    bob_view = bob.get(f"/agreements/{agreement['id']}").get_json()
    assert alice_view["pending_proposal"]["items"][0]["applies_to"] == "me"
    assert bob_view["pending_proposal"]["items"][0]["applies_to"] == "partner"
    assert bob_view["pending_proposal"]["items"][0]["binds"][0]["id"] == alice.user["id"]


def test_an_agreement_binding_one_partner_is_called_one_sided_with_guidance(alice, couple):
    body = draft(
        alice,
        items=[{"category": "devices", "text": "You answer when asked.", "applies_to": "partner"}],
    ).get_json()
    assert body["reciprocity"] == "one_sided"
    assert body["guidance"] == guidance("one_sided")


def test_consenting_to_a_version_that_is_not_the_latest_proposal_is_409(alice, bob, couple):
    response = draft(alice)
    agreement = response.get_json()
    assert_problem(alice.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}), 409)
    amend(bob, agreement["id"], response.headers["ETag"])  # counter-proposal: version 2
    assert_problem(bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}), 409)
    assert_problem(alice.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}), 409)
    assert (
        alice.post(f"/agreements/{agreement['id']}/consent", json={"version": 2}).status_code == 200
    )


def test_a_refused_consent_leaves_the_agreement_as_it_was(alice, bob, couple):
    """Consent moves the agreement's revision on before it decides; a refusal takes it back,
    so a partner's If-Match taken before a refused consent still holds."""
    response = draft(alice)
    agreement = response.get_json()
    before = alice.get(f"/agreements/{agreement['id']}")
    assert_problem(alice.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}), 409)
    assert_problem(bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 7}), 409)
    after = alice.get(f"/agreements/{agreement['id']}")
    assert after.headers["ETag"] == before.headers["ETag"] == response.headers["ETag"]
    assert after.get_json() == before.get_json()
    assert amend(bob, agreement["id"], response.headers["ETag"]).status_code == 201


def test_consent_holds_the_agreement_by_moving_it_on_not_by_a_locking_read(alice, bob, couple):
    agreement = draft(alice).get_json()
    sent: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        sent.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", seen)
    try:
        answer = bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", seen)
    assert answer.status_code == 200, answer.get_json()
    assert sent[0].startswith("SELECT auth_sessions.")  # the session check finds the agreement
    # then the UPDATE that holds the row and hands it back, with no read of the row before it
    touching = [s for s in sent[1:] if s.startswith(("UPDATE agreements ", "SELECT agreements."))]
    assert touching[0].startswith("UPDATE agreements SET revision=")
    assert "RETURNING" in touching[0]
    assert not any(s.startswith("SELECT agreements.") for s in touching)
    assert "UPDATE agreements SET id = id WHERE 0 = 1" not in sent


def test_amending_needs_if_match(alice, bob, couple):
    agreement = draft(alice).get_json()
    body = assert_problem(amend(bob, agreement["id"], None), 428)
    assert "If-Match" in body["detail"]
    assert_problem(amend(bob, agreement["id"], '"stale.etag"'), 412)
    assert len(alice.get(f"/agreements/{agreement['id']}").get_json()["versions"]) == 1


def test_the_version_in_force_stays_until_both_consent_to_the_amendment(alice, bob, couple):
    agreement = draft(alice).get_json()
    bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
    current = alice.get(f"/agreements/{agreement['id']}")
    amended = amend(
        alice,
        agreement["id"],
        current.headers["ETag"],
        items=[{"category": "plans", "text": "We share plans.", "applies_to": "both"}],
    )
    assert amended.status_code == 201
    body = amended.get_json()
    assert body["active_version"]["number"] == 1 and body["pending_proposal"]["number"] == 2
    assert amended.headers["ETag"] != current.headers["ETag"]
    assert told(bob, "agreement_amended") == 1
    bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 2})
    body = alice.get(f"/agreements/{agreement['id']}").get_json()
    assert body["active_version"]["number"] == 2
    assert [v["status"] for v in body["versions"]] == ["superseded", "active"]


def test_the_etag_field_equals_the_etag_header_on_every_answer(alice, bob, couple):
    created = draft(alice)
    agreement_id = created.get_json()["id"]
    answers = [created, alice.get(f"/agreements/{agreement_id}")]
    answers.append(amend(bob, agreement_id, answers[-1].get_json()["etag"]))
    answers.append(alice.post(f"/agreements/{agreement_id}/consent", json={"version": 2}))
    answers.append(bob.post(f"/agreements/{agreement_id}/withdraw", json={}))
    for response in answers:
        assert response.status_code in (200, 201), response.get_json()
        assert response.get_json()["etag"] == response.headers["ETag"]
    assert len({response.headers["ETag"] for response in answers}) == len(answers) - 1
    listed = alice.get("/couple/agreements").get_json()["items"]
    assert [a["etag"] for a in listed] == [answers[-1].headers["ETag"]]


def test_the_body_etag_works_as_if_match_and_goes_stale_like_the_header(alice, bob, couple):
    agreement = draft(alice).get_json()
    amended = amend(bob, agreement["id"], agreement["etag"])
    assert amended.status_code == 201
    assert_problem(amend(alice, agreement["id"], agreement["etag"]), 412)
    assert amend(alice, agreement["id"], amended.get_json()["etag"]).status_code == 201


def test_two_partners_amending_from_the_same_etag_one_gets_412(alice, bob, couple):
    response = draft(alice)
    agreement, etag = response.get_json(), response.headers["ETag"]
    first = amend(alice, agreement["id"], etag)
    second = amend(bob, agreement["id"], etag)
    assert first.status_code == 201
    assert_problem(second, 412)
    assert len(bob.get(f"/agreements/{agreement['id']}").get_json()["versions"]) == 2


def test_either_partner_withdraws_alone_and_both_are_told(alice, bob, couple):
    agreement = draft(alice).get_json()
    bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
    response = bob.post(f"/agreements/{agreement['id']}/withdraw", json={"reason": "Too much."})
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "withdrawn" and body["withdrawn_by"]["id"] == bob.user["id"]
    assert told(alice, "agreement_withdrawn") == told(bob, "agreement_withdrawn") == 1
    assert_problem(alice.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}), 409)
    assert_problem(bob.post(f"/agreements/{agreement['id']}/withdraw", json={}), 409)
    etag = alice.get(f"/agreements/{agreement['id']}").headers["ETag"]
    assert_problem(amend(alice, agreement["id"], etag), 409)


def test_withdrawing_needs_no_reason_and_no_if_match(alice, couple):
    agreement = draft(alice).get_json()
    assert alice.post(f"/agreements/{agreement['id']}/withdraw", json={}).status_code == 200


def test_timeline_never_holds_item_text_or_title(alice, bob, couple):
    agreement = draft(alice).get_json()
    consented = bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1})
    assert consented.status_code == 200, consented.get_json()
    withdrawn = bob.post(
        f"/agreements/{agreement['id']}/withdraw", json={"reason": "A private reason"}
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["status"] == "withdrawn"
    summaries = " ".join(e.summary for e in db.session.scalars(sa.select(TimelineEvent)))
    notes = " ".join(n.body for n in db.session.scalars(sa.select(Notification)))
    assert summaries and notes
    for text in (ITEM_TEXT, DRAFT["title"], "A private reason"):
        assert text not in summaries and text not in notes


def test_dates_are_bounded_to_six_months_and_bad_input_is_named(alice, couple):
    today = date.today()
    cases = [
        ({"ends_on": (today + timedelta(days=200)).isoformat()}, "ends_on"),
        ({"ends_on": (today - timedelta(days=1)).isoformat()}, "ends_on"),
        ({"review_on": (today + timedelta(days=100)).isoformat()}, "review_on"),
        ({"items": []}, "items"),
        ({"items": [{"category": "spying", "text": "x"}]}, "items.0.category"),
        ({"items": [{"category": "plans", "text": ""}]}, "items.0.text"),
        (
            {"items": [{"category": "plans", "text": "x", "applies_to": "them"}]},
            "items.0.applies_to",
        ),
        ({"title": ""}, "title"),
        ({"owner": "me"}, "owner"),
    ]
    for overrides, field in cases:
        assert_problem(alice.post("/couple/agreements", json={**DRAFT, **overrides}), 422, field)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agreement)) == 0
    assert draft(alice, ends_on=(today + timedelta(days=180)).isoformat()).status_code == 201


def test_an_ended_couples_agreements_are_read_only(alice, bob, couple):
    response = draft(alice)
    agreement = response.get_json()
    bob.post("/couple/leave", json={})
    assert alice.get(f"/agreements/{agreement['id']}").get_json()["status"] == "ended"
    assert_problem(bob.post(f"/agreements/{agreement['id']}/consent", json={"version": 1}), 409)
    assert_problem(alice.post(f"/agreements/{agreement['id']}/withdraw", json={}), 409)
    assert_problem(amend(alice, agreement["id"], response.headers["ETag"]), 409)
    assert_problem(alice.post("/couple/agreements", json=DRAFT), 409)
    assert told(alice, "agreement_withdrawn") == 0  # ending with the couple is quiet


def test_list_is_newest_first(alice, couple):
    first = draft(alice).get_json()["id"]
    second = draft(alice, title="Second").get_json()["id"]
    items = alice.get("/couple/agreements").get_json()["items"]
    assert {i["id"] for i in items} == {first, second}
    assert_problem(alice.get("/couple/agreements?limit=500"), 422, "limit")


def test_suggestions_are_mutual_commitments_with_guidance(alice, counselor):
    body = counselor.get("/agreement-suggestions").get_json()
    assert body["about"] and set(body["guidance"]) == {
        "mutual",
        "one_sided",
        "withdrawal",
        "offered_not_demanded",
        "walls_and_windows",
        "end_date",
    }
    assert "Shirley Glass" in body["guidance"]["walls_and_windows"]
    assert len(body["suggestions"]) >= 20
    assert sum(s["applies_to"] == "both" for s in body["suggestions"]) >= 0.8 * len(
        body["suggestions"]
    )
    devices = alice.get("/agreement-suggestions?category=devices").get_json()["suggestions"]
    assert devices and all(s["category"] == "devices" for s in devices)
    assert_problem(alice.get("/agreement-suggestions?category=spyware"), 422, "category")


def test_two_partners_amending_at_the_same_moment_one_gets_412(app, alice, bob, couple):
    import threading

    response = draft(alice)
    agreement, etag = response.get_json(), response.headers["ETag"]
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def amend_now(user):
        with app.app_context():
            barrier.wait()
            statuses.append(amend(user, agreement["id"], etag).status_code)

    threads = [threading.Thread(target=amend_now, args=(u,)) for u in (alice, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 412]
    assert len(alice.get(f"/agreements/{agreement['id']}").get_json()["versions"]) == 2


def test_an_amendment_keeps_the_dates_it_does_not_change(alice, bob, couple):
    ends_on = (date.today() + timedelta(days=30)).isoformat()
    response = draft(alice, ends_on=ends_on)
    amended = amend(bob, response.get_json()["id"], response.headers["ETag"]).get_json()
    assert amended["pending_proposal"]["ends_on"] == ends_on
