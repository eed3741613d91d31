"""Counselors write their own questionnaires: drafts, edits, publishing (then frozen)."""

from __future__ import annotations

import copy

from tests.counseling.helpers import link
from tests.helpers import assert_problem, make_counselor, ok_json
from tests.measures.helpers import COUNSELOR_MEASURE, published_measure, row_counts


def test_a_counselor_writes_edits_and_publishes_a_questionnaire(counselor):
    draft = counselor.post("/counselor/measures", json=COUNSELOR_MEASURE).get_json()
    assert draft["status"] == "draft" and draft["kind"] == "counselor"
    assert draft["author"]["display_name"] == "Dr Kim"
    assert draft["risk_items"] == ["safe_home"]
    assert (draft["scoring"]["min_score"], draft["scoring"]["max_score"]) == (0, 4)
    edited = counselor.patch(f"/counselor/measures/{draft['id']}", json={"title": "Weekly"})
    assert edited.status_code == 200 and edited.get_json()["title"] == "Weekly"
    assert edited.get_json()["items"] == draft["items"]
    listed = counselor.get("/counselor/measures").get_json()
    assert [m["id"] for m in listed] == [draft["id"]]
    published = counselor.post(f"/counselor/measures/{draft['id']}/publish").get_json()
    assert published["status"] == "published" and published["published_at"]
    assert counselor.get(f"/measures/{draft['key']}").status_code == 200


def test_items_without_keys_get_them_by_place(counselor):
    body = {
        "title": "Two questions",
        "items": [
            {"kind": "short_text", "text": "What went well?"},
            {"kind": "short_text", "text": "What was hard?", "max_length": 200},
        ],
    }
    created = counselor.post("/counselor/measures", json=body).get_json()
    assert [i["key"] for i in created["items"]] == ["q1", "q2"]
    assert created["scoring"] is None


def test_a_published_questionnaire_is_frozen(counselor):
    measure = published_measure(counselor)
    before = row_counts()
    assert_problem(
        counselor.patch(f"/counselor/measures/{measure['id']}", json={"title": "X"}), 409
    )
    assert_problem(counselor.post(f"/counselor/measures/{measure['id']}/publish"), 409)
    assert row_counts() == before


def test_a_draft_is_seen_by_its_author_alone(app, alice, bob, couple, counselor):
    link(alice, bob, counselor)
    draft = counselor.post("/counselor/measures", json=COUNSELOR_MEASURE).get_json()
    other = make_counselor(app, "dr.other@example.com", "Dr Other")
    for viewer in (alice, other, counselor):
        assert_problem(viewer.get(f"/measures/{draft['key']}"), 404)
    assert_problem(other.patch(f"/counselor/measures/{draft['id']}", json={"title": "X"}), 404)
    assert_problem(other.post(f"/counselor/measures/{draft['id']}/publish"), 404)
    assert other.get("/counselor/measures").get_json() == []


def test_published_ones_reach_the_counselors_linked_couples_only(
    app, alice, bob, couple, carol, counselor
):
    link(alice, bob, counselor)
    measure = published_measure(counselor)
    for partner in (alice, bob):
        keys = [m["key"] for m in partner.get("/measures").get_json()]
        assert measure["key"] in keys
        assert partner.get(f"/measures/{measure['key']}").status_code == 200
    other = make_counselor(app, "dr.other@example.com", "Dr Other")
    for outsider in (carol, other):
        assert measure["key"] not in [m["key"] for m in ok_json(outsider.get("/measures"))]
        assert_problem(outsider.get(f"/measures/{measure['key']}"), 404)
        assert_problem(
            outsider.post("/me/measure-responses", json={"measure": measure["key"]}),
            422 if outsider is carol else 404,
        )


def test_bad_definitions_are_422_naming_the_field_and_nothing_is_written(counselor):
    before = row_counts()

    def with_change(change) -> dict:
        body = copy.deepcopy(COUNSELOR_MEASURE)
        change(body)
        return body

    cases = [
        (with_change(lambda b: b.pop("title")), "title"),
        (with_change(lambda b: b.update(items=[])), "items"),
        (with_change(lambda b: b["items"][0].update(kind="slider")), "items.0.kind"),
        (with_change(lambda b: b["items"][0].update(max=40)), "items.0.max"),
        (
            with_change(lambda b: b["items"][0].update(anchors=[{"value": 0, "label": "x"}])),
            "items.0.anchors",
        ),
        (
            with_change(lambda b: b["items"][1].update(options=[{"value": "a", "label": "A"}])),
            "items.1.options",
        ),
        (with_change(lambda b: b["items"][1].update(risk={"one_of": ["maybe"]})), "items.1.risk"),
        (with_change(lambda b: b["items"][2].update(risk={"at_least": 1})), "items.2.risk"),
        (with_change(lambda b: b["items"][1].update(key="felt_heard")), "items"),
        (with_change(lambda b: b["items"][0].update(key="Bad Key")), "items.0.key"),
        (with_change(lambda b: b["scoring"]["bands"][1].update(min=3)), "scoring.bands"),
        (with_change(lambda b: b["scoring"].update(items=["one_word"])), "scoring.items"),
        (with_change(lambda b: b["scoring"].update(method="mean")), "scoring.method"),
        (with_change(lambda b: b["items"][0].update(min="0")), "items.0.min"),
        (with_change(lambda b: b.update(colour="blue")), "colour"),
    ]
    for body, field in cases:
        assert_problem(counselor.post("/counselor/measures", json=body), 422, field)
    assert row_counts() == before
    draft = counselor.post("/counselor/measures", json=COUNSELOR_MEASURE).get_json()
    patched = counselor.patch(
        f"/counselor/measures/{draft['id']}", json={"items": [{"kind": "scale", "text": "x"}]}
    )
    assert_problem(patched, 422, "items.0.max")
    assert counselor.get("/counselor/measures").get_json()[0]["items"] == draft["items"]


def test_an_authors_questionnaire_cannot_be_answered_by_a_counselor(counselor):
    measure = published_measure(counselor)
    assert_problem(counselor.post("/me/measure-responses", json={"measure": measure["key"]}), 404)
