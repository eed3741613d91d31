"""Export and erasure: a partner's measures are in their export only, and go with erasure; a
counselor's questionnaires survive a partner's erasure with no trace of them."""

from __future__ import annotations

import sqlalchemy as sa

from backend.extensions import db
from backend.measures.models import (
    AssignedPartner,
    Measure,
    MeasureResponse,
    MeasureSharing,
    MeasureVersion,
)
from tests.counseling.helpers import link
from tests.helpers import PASSWORD
from tests.measures.helpers import phq9_answers, published_measure, share, start, submit


def test_my_export_holds_my_measures_and_not_my_partners(alice, bob, couple, counselor):
    linked = link(alice, bob, counselor)
    mine = start(alice)
    submit(alice, mine["id"], phq9_answers(2, 2))
    share(alice, linked["id"])
    theirs = start(bob, "gad7")
    exported = alice.get("/me/export").get_json()["measures"]
    assert [r["id"] for r in exported["responses"]] == [mine["id"]]
    assert exported["responses"][0]["score"] == 4
    assert exported["responses"][0]["answers"][0] == {"item": "phq9_1", "value": 2}
    assert exported["responses"][0]["submitted_at"].endswith("Z")
    assert exported["sharing"][0]["counselor_link_id"] == linked["id"]
    assert exported["authored"] == []
    text = bob.get("/me/export").get_data(as_text=True)
    assert mine["id"] not in text and theirs["id"] in text


def test_a_counselors_export_holds_the_questionnaires_they_wrote(counselor):
    measure = published_measure(counselor)
    exported = counselor.get("/me/export").get_json()["measures"]
    assert [m["key"] for m in exported["authored"]] == [measure["key"]]


def test_erasure_deletes_a_partners_measures_and_keeps_the_counselors_questionnaire(
    alice, bob, couple, counselor
):
    linked = link(alice, bob, counselor)
    measure = published_measure(counselor)
    response = start(alice, measure["key"])
    submit(
        alice,
        response["id"],
        [
            {"item": "felt_heard", "value": 2},
            {"item": "safe_home", "value": "yes"},
            {"item": "one_word", "value": "hopeful"},
        ],
    )
    submit(alice, start(alice)["id"], phq9_answers(1))
    share(alice, linked["id"])
    counselor.post(
        f"/counselor/couples/{couple['id']}/measure-assignments",
        json={"measure": "gad7", "partners": "both", "frequency": "weekly", "local_time": "19:00"},
    )
    uid = alice.user["id"]
    erased = alice.delete("/me", json={"password": PASSWORD})
    assert erased.status_code == 204, erased.get_json()
    db.session.expire_all()
    for model, column in (
        (MeasureResponse, MeasureResponse.user_id),
        (MeasureSharing, MeasureSharing.user_id),
        (AssignedPartner, AssignedPartner.user_id),
    ):
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(model).where(column == uid))
            == 0
        )
    kept = db.session.scalar(sa.select(Measure).where(Measure.key == measure["key"]))
    assert kept is not None and kept.status == "published"
    stored = db.session.scalars(
        sa.select(MeasureVersion).where(MeasureVersion.measure_id == kept.id)
    ).all()
    text = str([(v.title, v.items, v.scoring, v.description, v.instructions) for v in stored])
    assert uid not in text and "Alice" not in text and "hopeful" not in text
    listed = counselor.get("/counselor/measures").get_json()
    assert [m["key"] for m in listed] == [measure["key"]]
