"""Each partner decides who sees their scores: per counselor, revocable at once, consented with
a fresh login; never the other partner. The crisis path alerts a counselor only if chosen."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
import time_machine

from backend import clock
from backend.extensions import db
from backend.notifications.models import Notification
from tests.counseling.helpers import link
from tests.helpers import assert_problem, make_counselor
from tests.measures.helpers import (
    phq9_answers,
    published_measure,
    row_counts,
    share,
    start,
    submit,
)


def scores(counselor, couple_id: str) -> dict:
    response = counselor.get(f"/counselor/couples/{couple_id}/measures")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def stale(partner):
    """The partner's login, 6 minutes on: still valid, no longer fresh."""
    with time_machine.travel(clock.now() - timedelta(minutes=6), tick=False):
        partner.login()
    return partner


def test_sharing_shows_a_counselor_the_sharing_partners_scores_with_bands(
    alice, bob, couple, counselor
):
    linked = link(alice, bob, counselor)
    for values in ((1,), (3, 3, 3, 2)):
        submit(alice, start(alice)["id"], phq9_answers(*values))
    submit(bob, start(bob)["id"], phq9_answers(3, 3))
    assert scores(counselor, couple["id"]) == {"partners": []}
    view = alice.get("/me/measure-sharing").get_json()
    assert view["about_sharing"] and view["about_alerts"]
    assert view["counselors"] == [
        {
            "counselor_link_id": linked["id"],
            "counselor": {"id": counselor.user["id"], "display_name": "Dr Kim"},
            "share": False,
            "alert_on_risk": False,
            "shared_since": None,
        }
    ]
    shared = share(alice, linked["id"])
    assert shared["counselors"][0]["share"] is True and shared["counselors"][0]["shared_since"]
    seen = scores(counselor, couple["id"])
    [partner] = seen["partners"]  # Bob does not share: he is not listed
    assert partner["user"]["id"] == alice.user["id"]
    [series] = partner["measures"]
    assert series["measure"] == {"key": "phq9", "title": "PHQ-9", "kind": "validated"}
    assert [(p["score"], p["band"]["key"]) for p in series["points"]] == [
        (1, "minimal"),
        (11, "moderate"),
    ]
    text = counselor.get(f"/counselor/couples/{couple['id']}/measures").get_data(as_text=True)
    assert "answers" not in text and "response_id" not in text


def test_turning_sharing_off_is_immediate_and_needs_no_fresh_login(alice, bob, couple, counselor):
    linked = link(alice, bob, counselor)
    submit(alice, start(alice)["id"], phq9_answers(2))
    share(alice, linked["id"], alert=True)
    stale(alice)
    off = alice.put("/me/measure-sharing", json={"counselor_link_id": linked["id"], "share": False})
    assert off.status_code == 200, off.get_json()
    assert off.get_json()["counselors"][0] == {
        **off.get_json()["counselors"][0],
        "share": False,
        "alert_on_risk": False,
        "shared_since": None,
    }
    assert scores(counselor, couple["id"]) == {"partners": []}
    kinds = [e["kind"] for e in alice.get("/me/activity").get_json()["items"]]
    assert "measure_sharing_on" in kinds and "measure_sharing_off" in kinds


def test_turning_sharing_or_alerts_on_needs_a_fresh_login(alice, bob, couple, counselor):
    linked = link(alice, bob, counselor)
    stale(alice)
    before = row_counts()
    on = {"counselor_link_id": linked["id"], "share": True}
    assert_problem(alice.put("/me/measure-sharing", json=on), 401)
    assert row_counts() == before
    alice.login()
    assert alice.put("/me/measure-sharing", json=on).status_code == 200
    stale(alice)
    alerts = {**on, "alert_on_risk": True}
    assert_problem(alice.put("/me/measure-sharing", json=alerts), 401)
    assert alice.get("/me/measure-sharing").get_json()["counselors"][0]["alert_on_risk"] is False
    # Saying again what is already so widens nothing.
    assert alice.put("/me/measure-sharing", json=on).status_code == 200


def test_the_controlling_partner_cannot_turn_the_victims_sharing_on_with_a_stale_token(
    alice, bob, couple, counselor
):
    """Bob holds Alice's phone, signed in but not freshly: he can't widen who sees her scores."""
    linked = link(alice, bob, counselor)
    submit(alice, start(alice)["id"], phq9_answers(3, 3, 3))
    on_her_phone = stale(alice)
    body = {"counselor_link_id": linked["id"], "share": True, "alert_on_risk": True}
    assert_problem(on_her_phone.put("/me/measure-sharing", json=body), 401)
    assert scores(counselor, couple["id"]) == {"partners": []}


def test_the_controlling_partner_cannot_learn_a_measure_exists_or_see_scores(
    alice, bob, couple, counselor
):
    linked = link(alice, bob, counselor)
    response = start(alice)
    submit(alice, response["id"], phq9_answers(3, 3, 3, 3, 0, 0, 0, 0, 1))
    share(alice, linked["id"], alert=True)
    # Bob, from his own account: nothing of Alice's measures, anywhere he can look.
    for url in (
        "/me/measure-responses",
        "/me/measures/phq9/scores",
        "/me/measure-sharing",
        "/me/notifications",
        "/couple/timeline",
        "/couple",
    ):
        text = bob.get(url).get_data(as_text=True)
        assert response["id"] not in text, url
        assert '"score":13' not in text.replace(" ", ""), url
    assert bob.get("/me/measures/phq9/scores").get_json()["points"] == []
    assert_problem(bob.get(f"/measure-responses/{response['id']}"), 404)
    # Nor may he change Alice's choice, nor see it: his PUT is about his own.
    mine = bob.get("/me/measure-sharing").get_json()["counselors"][0]
    assert mine["share"] is False
    for url in (f"/counselor/couples/{couple['id']}/measures", "/counselor/measures"):
        assert_problem(bob.get(url), 404)


def test_a_risk_answer_alerts_the_counselor_only_if_chosen_naming_only_the_measure(
    alice, bob, couple, counselor
):
    linked = link(alice, bob, counselor)
    share(alice, linked["id"])  # sharing, but no alerts
    submit(alice, start(alice)["id"], phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 2))
    alerts = sa.select(Notification).where(Notification.kind == "measure_risk_alert")
    assert db.session.scalars(alerts).all() == []
    share(alice, linked["id"], alert=True)
    saved = submit(alice, start(alice)["id"], phq9_answers(0, 0, 0, 0, 0, 0, 0, 0, 3))
    assert saved["safety_notice"] is not None
    [alert] = db.session.scalars(alerts).all()
    assert alert.user_id == counselor.user["id"]
    assert "PHQ-9" in alert.body and alert.title.startswith("Urgent")
    assert "dead" not in alert.body and "hurting" not in alert.body and "3" not in alert.body
    # Bob is told nothing.
    bob_kinds = db.session.scalars(
        sa.select(Notification.kind).where(Notification.user_id == bob.user["id"])
    ).all()
    assert not [k for k in bob_kinds if "measure" in k or "risk" in k]


def test_a_counselor_sees_library_scores_and_their_own_questionnaires_not_others(
    app, alice, bob, couple, counselor
):
    linked = link(alice, bob, counselor)
    other = make_counselor(app, "dr.other@example.com", "Dr Other")
    other_link = link(alice, bob, other)
    theirs = published_measure(other)
    mine = published_measure(counselor)
    for key in (theirs["key"], mine["key"], "gad7"):
        response = start(alice, key)
        answers = (
            [{"item": f"gad7_{n}", "value": 1} for n in range(1, 8)]
            if key == "gad7"
            else [{"item": "felt_heard", "value": 3}, {"item": "safe_home", "value": "yes"}]
        )
        submit(alice, response["id"], answers)
    share(alice, linked["id"])
    keys = {s["measure"]["key"] for s in scores(counselor, couple["id"])["partners"][0]["measures"]}
    assert keys == {"gad7", mine["key"]}
    # Sharing is per counselor: the other sees nothing until Alice shares with them too.
    assert scores(other, couple["id"]) == {"partners": []}
    share(alice, other_link["id"])
    keys = {s["measure"]["key"] for s in scores(other, couple["id"])["partners"][0]["measures"]}
    assert keys == {"gad7", theirs["key"]}


def test_an_unlinked_counselor_sees_nothing(app, alice, bob, couple, counselor):
    linked = link(alice, bob, counselor)
    submit(alice, start(alice)["id"], phq9_answers(1))
    share(alice, linked["id"])
    stranger = make_counselor(app, "dr.stranger@example.com", "Dr Stranger")
    assert_problem(stranger.get(f"/counselor/couples/{couple['id']}/measures"), 404)
    assert alice.delete(f"/counselor-links/{linked['id']}").status_code == 204
    assert_problem(counselor.get(f"/counselor/couples/{couple['id']}/measures"), 404)
    assert alice.get("/me/measure-sharing").get_json()["counselors"] == []


def test_bad_sharing_input_is_422_naming_the_field_and_nothing_is_written(
    app, alice, bob, couple, carol, counselor
):
    link(alice, bob, counselor)
    elsewhere = link(carol, *_carols_partner_and(app, counselor))
    before = row_counts()
    cases = [
        ({"share": True}, "counselor_link_id"),
        ({"counselor_link_id": "nope", "share": True}, "counselor_link_id"),
        ({"counselor_link_id": elsewhere["id"], "share": True}, "counselor_link_id"),
        ({"counselor_link_id": elsewhere["id"], "share": "yes"}, "share"),
        ({"counselor_link_id": elsewhere["id"]}, "share"),
    ]
    for body, field in cases:
        assert_problem(alice.put("/me/measure-sharing", json=body), 422, field)
    linked = alice.get("/me/measure-sharing").get_json()["counselors"][0]["counselor_link_id"]
    body = {"counselor_link_id": linked, "share": False, "alert_on_risk": True}
    assert_problem(alice.put("/me/measure-sharing", json=body), 422, "alert_on_risk")
    assert row_counts() == before


def _carols_partner_and(app, counselor):
    """Dave (Carol's partner, logged in) and the counselor, for linking Carol's couple."""
    from tests.helpers import ApiClient

    dave = ApiClient(app.test_client())
    dave.tokens = {"user": {"email": "dave@example.com"}}
    return dave.login(), counselor


def test_a_partner_without_a_couple_has_no_sharing(app):
    from tests.helpers import make_partner

    loner = make_partner(app, "loner@example.com", "Loner")
    assert_problem(loner.get("/me/measure-sharing"), 404)
