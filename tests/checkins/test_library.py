"""The prompt library: grounded content, loaded idempotently, edited into new revisions."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from backend.checkins.library import CONTENT_FILE, load_library, read_content, validate_content
from backend.checkins.models import Prompt, PromptRevision
from backend.extensions import db
from tests.helpers import answers_for, assert_problem

CONTENT = yaml.safe_load(CONTENT_FILE.read_text())


def test_library_has_enough_grounded_content():
    prompts = CONTENT["prompts"]
    categories = {p["category"] for p in prompts}
    assert len(prompts) >= 40
    assert len(categories) >= 8
    assert {p["kind"] for p in prompts} == {"scale", "choice", "multi_choice", "text"}
    sets = {s["key"]: s for s in CONTENT["prompt_sets"]}
    assert len(sets) >= 5
    assert {"daily_pulse", "weekly_trust_checkin", "after_a_trigger", "monthly_reflection"} <= set(
        sets
    )
    assert 2 <= len(sets["daily_pulse"]["prompts"]) <= 3
    assert 8 <= len(sets["weekly_trust_checkin"]["prompts"]) <= 10


def test_the_weekly_checkin_starts_with_appreciation_and_ends_on_a_small_step():
    by_key = {p["key"]: p for p in CONTENT["prompts"]}
    weekly = [
        by_key[k]
        for k in next(s for s in CONTENT["prompt_sets"] if s["key"] == "weekly_trust_checkin")[
            "prompts"
        ]
    ]
    assert weekly[0]["category"] == "appreciation"
    assert weekly[-1]["category"] == "small_steps"
    assert any(p["kind"] == "scale" and p["category"] == "safety" for p in weekly)


def test_after_a_trigger_weighs_evidence_and_another_explanation():
    keys = next(s for s in CONTENT["prompt_sets"] if s["key"] == "after_a_trigger")["prompts"]
    text = " ".join(p["text"].lower() for p in CONTENT["prompts"] if p["key"] in keys)
    assert "evidence" in text
    assert "explanation" in text or "another way" in text


def test_scales_are_labelled_at_both_ends():
    for prompt in CONTENT["prompts"]:
        if prompt["kind"] == "scale":
            assert prompt["min_label"] and prompt["max_label"], prompt["key"]


def test_loading_again_changes_nothing(app):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(PromptRevision))
    report = load_library()
    assert not report.changed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PromptRevision)) == before


@pytest.fixture
def edited_library(app, tmp_path) -> Path:
    """A copy of the content with one prompt reworded and one removed (from the library and
    its set); restored afterwards."""
    data = yaml.safe_load(CONTENT_FILE.read_text())
    pulse = next(s for s in data["prompt_sets"] if s["key"] == "daily_pulse")
    first = next(p for p in data["prompts"] if p["key"] == pulse["prompts"][0])
    first["text"] = "Reworded: " + first["text"]
    removed = next(p for p in data["prompts"] if p["key"] == "response_choice")
    data["prompts"].remove(removed)
    for prompt_set in data["prompt_sets"]:
        prompt_set["prompts"] = [k for k in prompt_set["prompts"] if k != removed["key"]]
    path = tmp_path / "checkins.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    yield path
    load_library()


def test_an_edited_prompt_becomes_a_new_revision_and_past_answers_keep_their_text(
    alice, bob, couple, edited_library
):
    checkin = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    original_text = checkin["prompts"][0]["text"]
    alice.put(f"/checkins/{checkin['id']}/answers", json={"answers": answers_for(checkin)})
    report = load_library(edited_library)
    assert report.prompts_revised == 1
    old = alice.get(f"/checkins/{checkin['id']}").get_json()
    assert old["prompts"][0]["text"] == original_text
    assert old["prompts"][0]["revision"] == 1
    new = alice.post("/couple/checkins", json={"prompt_set": "daily_pulse"}).get_json()
    assert new["prompts"][0]["text"] == "Reworded: " + original_text
    assert new["prompts"][0]["revision"] == 2
    assert load_library(edited_library).changed is False


def test_a_prompt_removed_from_the_file_is_retired_not_deleted(app, alice, edited_library):
    listed_before = {p["key"] for p in alice.get("/prompts").get_json()}
    load_library(edited_library)
    listed_after = {p["key"] for p in alice.get("/prompts").get_json()}
    gone = listed_before - listed_after
    assert gone
    assert db.session.scalar(sa.select(Prompt).where(Prompt.key.in_(gone))).retired_at


def test_broken_content_is_refused_with_every_problem_named(tmp_path):
    data = {
        "categories": [{"key": "safety"}],
        "prompts": [
            {"key": "a", "category": "nope", "kind": "scale", "text": "x", "min": 5, "max": 1},
            {"key": "b", "category": "safety", "kind": "choice", "text": "y", "options": []},
        ],
        "prompt_sets": [{"key": "s", "suggested_frequency": "hourly", "prompts": ["zzz"]}],
    }
    problems = validate_content(data)
    assert any("unknown category" in p for p in problems)
    assert any("min < max" in p for p in problems)
    assert any("two options" in p for p in problems)
    assert any("suggested_frequency" in p for p in problems)
    assert any("unknown or no prompts" in p for p in problems)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValueError, match="unknown category"):
        read_content(path)


def test_get_prompts_filters_by_category(alice):
    everything = alice.get("/prompts").get_json()
    assert len(everything) >= 40
    safety = alice.get("/prompts?category=safety").get_json()
    assert safety and all(p["category"] == "safety" for p in safety)
    scale = next(p for p in everything if p["kind"] == "scale")
    assert {"min", "max", "min_label", "max_label"} <= set(scale)
    assert alice.get("/prompts?category=unknown").get_json() == []


def test_get_prompt_sets_lists_their_prompts_in_order(counselor):
    sets = {s["key"]: s for s in counselor.get("/prompt-sets").get_json()}
    weekly = sets["weekly_trust_checkin"]
    assert weekly["title"] and weekly["description"]
    assert len(weekly["prompts"]) >= 8


def test_the_library_needs_a_login(api):
    assert_problem(api.get("/prompts"), 401)
