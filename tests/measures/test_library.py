"""The measure library as data: exact items, scoring, attribution; loading is idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from backend.extensions import db
from backend.measures.library import CONTENT_FILE, load_library, read_content, validate_content
from backend.measures.models import MeasureVersion
from tests.helpers import assert_problem
from tests.measures.helpers import phq9_answers, start, submit

CONTENT = read_content()
ANCHORS = [
    {"value": 0, "label": "Not at all"},
    {"value": 1, "label": "Several days"},
    {"value": 2, "label": "More than half the days"},
    {"value": 3, "label": "Nearly every day"},
]
ATTRIBUTION = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)


def test_the_shipped_library_is_sound():
    assert validate_content(CONTENT) == []
    assert [m["key"] for m in CONTENT["measures"]] == ["phq9", "gad7", "trust_week"]


def test_phq9_is_shipped_as_published(alice):
    phq9 = alice.get("/measures/phq9").get_json()
    assert phq9["kind"] == "validated" and phq9["validated"] is True
    assert phq9["instructions"] == (
        "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
    )
    texts = [i["text"] for i in phq9["items"]]
    assert texts[0] == "Little interest or pleasure in doing things"
    assert (
        texts[8] == "Thoughts that you would be better off dead or of hurting yourself in some way"
    )
    assert len([i for i in phq9["items"] if i["kind"] == "scale"]) == 9
    assert all(i["anchors"] == ANCHORS for i in phq9["items"] if i["kind"] == "scale")
    assert phq9["risk_items"] == ["phq9_9"]
    assert phq9["items"][9]["kind"] == "single_choice" and phq9["items"][9]["optional"]
    bands = [(b["min"], b["max"], b["label"]) for b in phq9["scoring"]["bands"]]
    assert bands == [
        (0, 4, "Minimal"),
        (5, 9, "Mild"),
        (10, 14, "Moderate"),
        (15, 19, "Moderately severe"),
        (20, 27, "Severe"),
    ]
    assert (phq9["scoring"]["min_score"], phq9["scoring"]["max_score"]) == (0, 27)
    assert phq9["source"]["attribution"] == ATTRIBUTION
    assert phq9["source"]["url"].startswith("https://") and phq9["source"]["checked_on"]


def test_gad7_is_shipped_as_published(alice):
    gad7 = alice.get("/measures/gad7").get_json()
    assert [i["text"] for i in gad7["items"][:7]] == [
        "Feeling nervous, anxious or on edge",
        "Not being able to stop or control worrying",
        "Worrying too much about different things",
        "Trouble relaxing",
        "Being so restless that it is hard to sit still",
        "Becoming easily annoyed or irritable",
        "Feeling afraid as if something awful might happen",
    ]
    bands = [(b["min"], b["max"], b["key"]) for b in gad7["scoring"]["bands"]]
    assert bands == [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]
    assert gad7["source"]["attribution"] == ATTRIBUTION
    assert gad7["risk_items"] == []


def test_the_trust_check_is_labelled_as_not_validated(alice, counselor):
    for viewer in (alice, counselor):
        listed = {m["key"]: m for m in viewer.get("/measures").get_json()}
        check = listed["trust_week"]
        assert check["kind"] == "trustline_check" and check["validated"] is False
        assert "not a validated instrument" in check["description"].lower()
        assert 4 <= len([i for i in check["items"] if i["kind"] == "scale"]) <= 6


@pytest.mark.parametrize(
    ("values", "score", "band"),
    [
        ((0,), 0, "minimal"),
        ((3, 1), 4, "minimal"),
        ((3, 2), 5, "mild"),
        ((3, 3, 3, 1), 10, "moderate"),
        ((3, 3, 3, 3, 3, 0, 0, 0, 0), 15, "moderately_severe"),
        ((3, 3, 3, 3, 3, 3, 2), 20, "severe"),
        ((3,) * 8, 24, "severe"),
    ],
)
def test_phq9_scores_are_sums_with_their_band(alice, values, score, band):
    response = start(alice, "phq9")
    saved = submit(alice, response["id"], phq9_answers(*values))
    assert (saved["score"], saved["band"]["key"]) == (score, band)


def test_loading_again_changes_nothing(app):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(MeasureVersion))
    assert not load_library().changed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeasureVersion)) == before


def test_a_library_file_with_a_gap_in_its_bands_is_refused():
    data = yaml.safe_load(CONTENT_FILE.read_text())
    data["measures"][0]["scoring"]["bands"][1]["min"] = 6
    problems = validate_content(data)
    assert any("phq9" in p and "scoring.bands" in p for p in problems)


@pytest.fixture
def edited_library(app, tmp_path) -> Path:
    """A copy of the library with GAD-7's first item reworded; restored afterwards."""
    data = yaml.safe_load(CONTENT_FILE.read_text())
    gad7 = next(m for m in data["measures"] if m["key"] == "gad7")
    gad7["items"][0]["text"] = "Reworded: " + gad7["items"][0]["text"]
    path = tmp_path / "measures.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    yield path
    load_library()


def test_an_edited_measure_becomes_a_new_version_and_old_responses_keep_theirs(
    alice, edited_library
):
    old = start(alice, "gad7")
    before = old["questionnaire"]["version"]
    report = load_library(edited_library)
    assert report.revised == 1 and not report.created
    again = alice.get(f"/measure-responses/{old['id']}").get_json()
    assert again["questionnaire"]["version"] == before
    assert not again["questionnaire"]["items"][0]["text"].startswith("Reworded")
    new = start(alice, "gad7")
    assert new["questionnaire"]["version"] == before + 1
    assert new["questionnaire"]["items"][0]["text"].startswith("Reworded: ")
    assert load_library(edited_library).changed is False


def test_an_unknown_measure_is_404(alice):
    assert_problem(alice.get("/measures/das"), 404)
