"""The content holds its rules: questions get answers, repair follows the order therapists use,
agreements offer rather than demand, watched answers default to private, no prompt is lost."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from backend.agreements import library as agreements
from backend.agreements.models import CATEGORIES
from backend.checkins.library import CONTENT_FILE as CHECKINS_FILE
from backend.checkins.library import validate_content
from backend.conversations import library as conversations

CHECKINS = yaml.safe_load(CHECKINS_FILE.read_text())
PROMPTS = {p["key"]: p for p in CHECKINS["prompts"]}
SETS = {s["key"]: s for s in CHECKINS["prompt_sets"]}
TEMPLATES = conversations.templates()
# A prompt a partner asks themselves ("Do I feel understood?") rather than the other.
SELF_QUESTION = re.compile(r"^(Do I|Does this|What do I|What have I|Is there anything I)\b")


def steps_of(key: str) -> list[str]:
    return [step["key"] for step in TEMPLATES[key]["steps"]]


# ------------------------------------------------------------------ conversations


def test_every_question_to_the_other_partner_is_marked_and_answered_by_them():
    for key, template in TEMPLATES.items():
        for index, step in enumerate(template["steps"]):
            asks = [p for p in step["prompts"] if "?" in p and not SELF_QUESTION.match(p)]
            if asks:
                assert step.get("asks_the_other"), (key, step["key"], asks)
            if step.get("asks_the_other"):
                askers = conversations.writing_people(template, index)
                answerers = conversations.writing_people(template, index + 1)
                assert answerers - askers or askers == answerers == {0, 1}, (key, step["key"])
                assert template["steps"][index + 1]["writers"] != "either", (key, step["key"])


def test_a_question_left_unanswered_is_refused_by_the_loader():
    data = yaml.safe_load(conversations.CONTENT_FILE.read_text())
    assert conversations.validate_templates(data) == []
    broken = copy.deepcopy(data)
    trigger = next(t for t in broken["templates"] if t["key"] == "processing_a_trigger")
    reflect = next(i for i, s in enumerate(trigger["steps"]) if s["key"] == "reflect_back")
    del trigger["steps"][reflect + 1]  # "Do I feel understood?": the answer
    trigger["steps"][reflect + 1]["writers"] = "supporting_partner"
    assert any("reflect_back" in p for p in conversations.validate_templates(broken))
    last = copy.deepcopy(data)
    last["templates"][0]["steps"][-1]["asks_the_other"] = True
    assert any("no step answers it" in p for p in conversations.validate_templates(last))


def test_the_betrayal_repair_hears_the_impact_before_remorse_and_asks_how_it_landed():
    template = TEMPLATES["repair_after_betrayal"]
    keys = steps_of("repair_after_betrayal")
    writers = {step["key"]: step["writers"] for step in template["steps"]}
    order = ["impact_told", "impact_reflected", "acknowledgement_and_remorse", "how_it_landed"]
    assert [keys.index(k) for k in order] == sorted(keys.index(k) for k in order)
    assert keys[0] == "impact_told" and writers["impact_told"] == "hurt_partner"
    assert (
        writers["impact_reflected"]
        == writers["acknowledgement_and_remorse"]
        == ("involved_partner")
    )
    assert writers["how_it_landed"] == "hurt_partner"
    assert keys.index("how_it_landed") == keys.index("acknowledgement_and_remorse") + 1
    remorse = next(s for s in template["steps"] if s["key"] == "acknowledgement_and_remorse")
    assert "self-punishment" in remorse["guidance"]
    assert "has stopped" in template["before_you_start"]
    together = next(s for s in template["steps"] if s["key"] == "understanding_together")
    assert "Nobody is asked to take a share of the responsibility" in together["guidance"]


def test_closing_and_unsure_templates_exist_and_push_nobody():
    closeness = TEMPLATES["rebuilding_closeness"]
    assert "our_story" in steps_of("rebuilding_closeness")
    assert "attach" in closeness["source"]
    unsure = TEMPLATES["unsure_whether_to_stay"]
    assert unsure["roles"] == ["unsure_partner", "listening_partner"]
    assert "Nobody has to decide anything" in unsure["before_you_start"]
    assert "not to persuade" in unsure["before_you_start"]


def test_looking_back_reflects_each_view_agrees_together_and_sends_betrayal_elsewhere():
    template = TEMPLATES["looking_back_at_an_incident"]
    keys = steps_of("looking_back_at_an_incident")
    writers = {step["key"]: step["writers"] for step in template["steps"]}
    for view in ("first_view", "second_view"):
        after = keys[keys.index(view) + 1]
        assert writers[after] == "listener", view
    assert writers["agree_for_next_time"] == "both"
    assert "Repairing after a betrayal" in template["before_you_start"]
    assert "nobody is asked to share responsibility" in template["before_you_start"]


def test_trigger_templates_have_no_involved_partner_and_a_calm_week_plan_exists():
    for key in ("processing_a_trigger", "triggers_plan"):
        assert TEMPLATES[key]["roles"] == ["triggered_partner", "supporting_partner"], key
        assert all(s["writers"] != "involved_partner" for s in TEMPLATES[key]["steps"])
    plan = " ".join(s["title"] + s["guidance"] for s in TEMPLATES["triggers_plan"]["steps"])
    for needed in ("triggers", "What I'll do", "ask", "without waiting to be asked"):
        assert needed in plan, needed


def test_every_role_is_described():
    for key, template in TEMPLATES.items():
        assert set(template["role_titles"]) == set(template["roles"]), key
        assert all(template["role_titles"].values()), key


# ------------------------------------------------------------------ check-ins


def test_the_content_file_is_sound():
    assert validate_content(CHECKINS) == []


def test_no_prompt_is_left_out_of_every_set():
    used = {key for prompt_set in SETS.values() for key in prompt_set["prompts"]}
    assert set(PROMPTS) - used == set()


def test_watched_answers_default_to_private_and_forgiveness_left_the_monthly_set():
    for key in (
        "forgiveness_progress",
        "openness_feels",
        "own_space_week",
        "still_carrying",
        "money_of_my_own",
        "old_betrayal_weight",
    ):
        assert PROMPTS[key].get("default_visibility") == "private", key
    assert "forgiveness_progress" not in SETS["monthly_reflection"]["prompts"]
    assert "forgiveness_progress" in SETS["forgiveness_journey"]["prompts"]
    for prompt in PROMPTS.values():
        if prompt.get("default_visibility") == "private":
            assert "unless you choose to share it" in prompt["help"], prompt["key"]


def test_answers_that_bring_the_safety_notice_are_private_by_default():
    noticed = {k for k, p in PROMPTS.items() if p.get("safety_notice")}
    assert {"openness_feels", "own_space_week"} <= noticed
    assert PROMPTS["openness_feels"]["safety_notice"]["when"] == {
        "one_of": ["feels_like_being_watched"]
    }
    for key in noticed:
        assert PROMPTS[key]["default_visibility"] == "private", key


def test_a_bad_default_or_notice_is_refused():
    data = copy.deepcopy(CHECKINS)
    prompts = {p["key"]: p for p in data["prompts"]}
    prompts["felt_safe_today"]["default_visibility"] = "secret"
    prompts["today_mood"]["safety_notice"] = {"when": {"one_of": ["nope"]}, "message": "x"}
    prompts["own_space_week"]["safety_notice"]["when"] = {"at_most": 42}
    prompts["keep_doing"]["safety_notice"] = {"when": {"at_most": 2}, "message": "x"}
    prompts["week_overall"]["help"] = "x" * 501
    problems = " ".join(validate_content(data))
    for key in ("felt_safe_today", "today_mood", "own_space_week", "keep_doing", "week_overall"):
        assert key in problems, key


def test_the_situations_couples_bring_have_a_set():
    for key in (
        "older_mistrust",
        "feeling_distrusted",
        "lines_and_connections",
        "money_and_trust",
        "old_betrayal_and_hard_dates",
    ):
        assert len(SETS[key]["prompts"]) >= 5, key
    older = " ".join(PROMPTS[k].get("help", "") for k in SETS["older_mistrust"]["prompts"])
    assert "trauma-focused" in older
    assert "self_trust_now" in SETS["older_mistrust"]["prompts"]


def test_where_a_prompt_invites_reassurance_its_help_names_the_loop():
    for prompt in PROMPTS.values():
        words = " ".join(
            [prompt["text"], prompt.get("help", "")]
            + [o["value"] + " " + o["label"] for o in prompt.get("options", [])]
        ).lower()
        if "reassur" in words:
            assert "loop" in prompt.get("help", ""), prompt["key"]


# ------------------------------------------------------------------ agreements

ON_DEMAND = re.compile(
    r"when(ever)? (asked|the other asks|one of us asks|either of us asks)|if asked|on demand"
    r"|whenever|answer\w* [^.]*\bwhen asked",
    re.IGNORECASE,
)


def test_no_agreement_suggestion_lets_one_partner_question_the_other_on_demand():
    for suggestion in agreements.suggestions():
        for text in (suggestion["text"], suggestion.get("note") or ""):
            assert not ON_DEMAND.search(text), suggestion["key"]
    keys = {s["key"] for s in agreements.suggestions()}
    assert not {"honest_who_messaging", "honest_about_money", "honest_about_online_contact"} & keys


def test_money_and_online_contact_are_proactive_time_bound_and_bounded():
    by_key = {s["key"]: s["text"] for s in agreements.suggestions()}
    money = by_key["mention_larger_spending"]
    assert "amount we agree" in money and "without waiting to be asked" in money
    assert "For the time of this agreement" in money
    online = by_key["tell_if_contacted_online"]
    assert "the same day" in online and "For the time of this agreement" in online


def test_the_new_commitments_are_there_and_fit_an_agreement_item():
    keys = {s["key"] for s in agreements.suggestions()}
    assert {
        "contact_message_written_together",
        "reassurance_offered_unasked",
        "own_support_free",
        "agreed_end_date",
    } <= keys
    for suggestion in agreements.suggestions():
        assert suggestion["category"] in CATEGORIES, suggestion["key"]
        assert len(suggestion["text"]) <= 500, suggestion["key"]


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("offered_not_demanded", ("offer", "demanded", "agreed time")),
        ("walls_and_windows", ("Shirley Glass", "wall", "window")),
        ("end_date", ("end date", "review")),
        ("about", ("end date",)),
        ("one_sided", ("offered", "demanded")),
    ],
)
def test_the_guidance_tells_offering_from_demanding(key, words):
    text = agreements.guidance(key)
    for word in words:
        assert word.lower() in text.lower(), (key, word)
